"""What each hidden layer component costs hot in cache, ns an element.

Usage::

    python bench/layer_costs.py [ROWS UNITS] [--calls N]

The layer component of each activation (``kernels/cpu/compiled/
activations.py``: the intercepts, the activation and its derivative, one
pass) runs in a compiled loop on one (ROWS, UNITS) block, default (128,
200), restored from a copy before each call; the copy's own time is
taken off. Fastest of 5 loops of ``--calls`` calls each. The fits these
layers make up are timed by ``python bench/run.py --only activations``.
"""

import argparse
import time

import numba
import numpy as np

from fastnn.kernels import codes
from fastnn.kernels.cpu.activations import TRAIN
from fastnn.kernels.cpu.compiled.activations import call_layer, layer_component
from fastnn.kernels.cpu.compiled.pointers import at

ACTIVATIONS = ("identity", "relu", "leaky_relu", "logistic", "tanh", "elu", "softplus", "gelu",
               "silu")


@numba.njit
def _loop(fn, z, z0, dz, b, n, m, calls, run):
    for _ in range(calls):
        z[:] = z0
        if run:
            call_layer(fn, TRAIN, at(z, 0), at(dz, 0), at(b, 0), n, m, 0.01, 0.0, 0, 0, 0, 0.0)


def _fastest(fn, z, z0, dz, b, calls, run):
    n, m = z.shape
    best = np.inf
    for _ in range(5):
        start = time.perf_counter()
        _loop(fn, z, z0, dz, b, n, m, calls, run)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", nargs="*", type=int, default=[128, 200])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    n, m = args.shape
    print(f"layer components on a ({n}, {m}) block, ns an element (forward with derivative):")
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        z0 = rng.standard_normal((n, m)).astype(dtype)
        b = (0.1 * rng.standard_normal(m)).astype(dtype)
        z, dz = np.empty_like(z0), np.empty_like(z0)
        cells = []
        for name in ACTIVATIONS:
            fn = layer_component(codes.ACTIVATIONS[name], dtype).address
            _loop(fn, z, z0, dz, b, n, m, 3, True)  # compiled, in cache
            copy = _fastest(fn, z, z0, dz, b, args.calls, False)
            seconds = _fastest(fn, z, z0, dz, b, args.calls, True) - copy
            # below the copy's noise, 0
            cells.append(f"{name} {max(seconds, 0.0) / args.calls / (n * m) * 1e9:.2f}")
        print(f"  {np.dtype(dtype).name}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
