"""Where a mini-batch epoch's time goes, phase by phase.

Usage::

    python bench/epoch_profile.py [W4 W3-f64 ...] [--blas-threads N] [--repeats R]

``profiled_epoch`` is ``kernels.cpu.epochs.minibatch_epoch`` for Adam on
dense X without dropout, with the CPU's cycle counter read between its
phases. It calls the same components and BLAS products in the same order
on the same buffers (the passes spelled out, so that each product is
timed apart); ``tests/test_epoch_profile.py`` checks that it trains to
the same bits as ``minibatch_epoch``. Counter ticks become
seconds at the rate measured against ``time.perf_counter`` around each
run, so the phases add up to the run's wall time.

For each workload named (Adam with a fixed batch size: W3-f64, W3-f32,
W4) it trains from fastnn's initial weights for the workload's epochs,
``--repeats`` times, and prints the fastest run's microseconds per batch
in each phase, with one real fastnn ``fit`` of the workload timed in the
same process to show that the profiled epochs take the fit's time.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from sklearn.preprocessing import LabelBinarizer

import fastnn
from fastnn._params import init_params
from fastnn.kernels import codes
from fastnn.kernels.cpu import as_bytes
from fastnn.kernels.cpu import activations as layer
from fastnn.kernels.cpu import losses as head_mode
from fastnn.kernels.cpu.activations import call_layer, layer_component
from fastnn.kernels.cpu.losses import call_head, head_component
from fastnn.kernels.cpu.network import n_coef_and_width
from fastnn.kernels.cpu.optimizers import SQNORM, STEP, adam_lr, call_step, step_component
from fastnn.kernels.cpu.pointers import at, copy, gemm

import workloads as wl

PHASES = (
    "gather X, Y rows",
    "forward products",
    "hidden layers: bias + activation",
    "head: output, loss, output delta",
    "weight-gradient products",
    "input-gradient products",
    "hidden layers: derivative + bias sums",
    "Adam step + penalty sum",
)


@intrinsic
def _ticks(typingctx):
    """The CPU's cycle counter (LLVM's readcyclecounter)."""
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return types.uint64(), codegen


@njit(error_model="numpy", nogil=True)
def profiled_epoch(ticks, hidden, head, step, size, params, m, v, Xd, Y, SW, order, batch_size,
                   units, act_param, loss_param, alpha, lr, beta1, beta2, eps, t):
    """minibatch_epoch (solver Adam, dense X, no dropout; its arguments as
    kernels/cpu/epochs.py gives them), adding the counter ticks of each
    phase to ``ticks`` (uint64, len(PHASES)). Returns what
    minibatch_epoch returns: (summed batch losses, t)."""
    n = order.shape[0]
    double = size == 8
    n_layers = units.shape[0] - 1
    n_in = units[0]
    n_out = units[n_layers]
    n_coef, width = n_coef_and_width(units)
    n_par = params.shape[0] // size
    acts = np.empty(batch_size * width * size, dtype=np.uint8)
    dacts = np.empty_like(acts)
    deltas = np.empty_like(acts)
    grad = np.empty_like(params)
    xb = np.empty(batch_size * n_in * size, dtype=np.uint8)
    yb = np.empty(batch_size * n_out * size, dtype=np.uint8)
    swb = np.empty(batch_size * size, dtype=np.uint8)
    sw_batch = np.empty(1)
    x = at(xb, 0)
    out_bias = (n_coef + width - n_out) * size
    last = batch_size * (width - n_out)
    sq = call_step(step, SQNORM, at(params, 0), at(params, 0), at(params, 0), at(params, 0), n_par,
                   n_coef, 0.0, 0.0, 0.0, 0.0, False, 0.0, 0.0, 0.0, False)
    total = 0.0
    for start in range(0, n, batch_size):
        c0 = _ticks()
        nb = batch_size if start + batch_size < n else n - start
        rows = order[start : start + nb]
        row_bytes = n_in * size
        for r in range(nb):
            copy(at(xb, r * row_bytes), at(Xd, rows[r] * row_bytes), row_bytes)
            copy(at(yb, r * n_out * size), at(Y, rows[r] * n_out * size), n_out * size)
            copy(at(swb, r * size), at(SW, rows[r] * size), size)
        ticks[0] += _ticks() - c0
        off_w, off_b, off_a, inp = 0, n_coef, 0, x
        for l in range(n_layers):
            fi, fo = units[l], units[l + 1]
            out = at(acts, off_a * size)
            c0 = _ticks()
            gemm(double, False, False, nb, fo, fi, inp, at(params, off_w * size), 0.0, out)
            c1 = _ticks()
            ticks[1] += c1 - c0
            if l == n_layers - 1:
                break
            call_layer(hidden, layer.TRAIN, out, at(dacts, off_a * size), at(params, off_b * size),
                       nb, fo, act_param, 0.0, 0, start, 0, 0.0)
            ticks[2] += _ticks() - c1
            inp = out
            off_w += fi * fo
            off_b += fo
            off_a += batch_size * fo
        c0 = _ticks()
        batch_loss = call_head(head, head_mode.TRAIN, at(acts, last * size), at(params, out_bias),
                               at(yb, 0), at(swb, 0), at(deltas, last * size), at(grad, out_bias),
                               nb, n_out, loss_param, 1.0, 0.0, at(sw_batch, 0))
        sw_sum = sw_batch[0]
        total += (batch_loss + 0.5 * alpha * sq) / sw_sum * nb
        ticks[3] += _ticks() - c0
        off_w, off_b = n_coef, n_par
        off_a = batch_size * width
        for l in range(n_layers - 1, -1, -1):
            fi, fo = units[l], units[l + 1]
            off_w -= fi * fo
            off_b -= fo
            off_a -= batch_size * fo
            dout = at(deltas, off_a * size)
            below = off_a - batch_size * fi
            c0 = _ticks()
            gemm(double, True, False, fi, fo, nb, at(acts, below * size) if l > 0 else x, dout,
                 0.0, at(grad, off_w * size))
            c1 = _ticks()
            ticks[4] += c1 - c0
            if l > 0:
                dinp = at(deltas, below * size)
                gemm(double, False, True, nb, fi, fo, dout, at(params, off_w * size), 0.0, dinp)
                c2 = _ticks()
                call_layer(hidden, layer.BACKWARD, dinp, at(dacts, below * size),
                           at(grad, (off_b - fi) * size), nb, fi, 0.0, 0.0, 0, 0, 0, 0.0)
                ticks[5] += c2 - c1
                ticks[6] += _ticks() - c2
        c0 = _ticks()
        t += 1
        sq = call_step(step, STEP, at(params, 0), at(m, 0), at(v, 0), at(grad, 0), n_par, n_coef,
                       alpha, sw_sum, adam_lr(lr, beta1, beta2, t), 0.0, False, beta1, beta2, eps,
                       True)
        ticks[7] += _ticks() - c0
    return total, t


def components(dtype, hidden, out_code, loss_code):
    """The addresses of the components minibatch_epoch runs for this
    network (no dropout)."""
    return (layer_component(hidden, dtype).address,
            head_component(out_code, loss_code, dtype).address,
            step_component(codes.ADAM, dtype).address)


def _targets(w, y, dtype):
    """(Y 2-D, output activation code, loss code) as fastnn trains ``w``."""
    if w.estimator == "MLPClassifier":
        Y = LabelBinarizer().fit_transform(y)
        out = codes.SOFTMAX if Y.shape[1] > 1 else codes.LOGISTIC
        return np.ascontiguousarray(Y, dtype=dtype), out, codes.LOG_LOSS
    Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=dtype)
    return Y, codes.IDENTITY, codes.SQUARED_ERROR


def adam_workloads(names, what):
    """The workloads named (workloads.select), exiting unless each trains
    with Adam in batches of a fixed size above 1: what ``what`` covers."""
    chosen = wl.select(names)
    for w in chosen:
        if w.params.get("solver", "adam") != "adam" or w.params.get("batch_size", 1) in (1, "auto"):
            sys.exit(f"{w.name}: {what} covers Adam with a fixed batch size above 1")
    return chosen


def problem(w):
    """What fastnn's epochs train on for workload ``w``: (X, y, Y, SW,
    units, hidden activation's name, output activation code, loss code,
    scalars), the scalars being (act_param, loss_param, alpha, lr, beta1,
    beta2, eps) in X's dtype."""
    X, _, y, _ = wl.workload_data(w)
    dtype = X.dtype.type
    p = w.params
    Y, out_code, loss_code = _targets(w, y, dtype)
    units = np.array([X.shape[1], *p["hidden_layer_sizes"], Y.shape[1]], dtype=np.int64)
    scalars = tuple(float(dtype(s)) for s in (0.01, 1.0, p.get("alpha", 1e-4),
                                              p.get("learning_rate_init", 1e-3),
                                              p.get("beta_1", 0.9), p.get("beta_2", 0.999),
                                              p.get("epsilon", 1e-8)))
    return (X, y, Y, np.ones(X.shape[0], dtype=dtype), units, p.get("activation", "relu"),
            out_code, loss_code, scalars)


def profile(w, repeats):
    """Per-phase seconds per batch (in the fastest of ``repeats`` runs of
    the workload's epochs), that run's wall seconds, one real fit's seconds
    and the number of batches."""
    X, y, Y, SW, units, activation, out_code, loss_code, scalars = problem(w)
    act_param, loss_param, alpha, lr, beta1, beta2, eps = scalars
    dtype = X.dtype.type
    p = w.params
    n_epochs, batch = p["max_iter"], p["batch_size"]
    n_batches = n_epochs * -(-X.shape[0] // batch)

    def run():
        rng = np.random.RandomState(0)
        params = init_params(units, activation, rng, dtype)  # fastnn's initial weights
        m, v = np.zeros_like(params), np.zeros_like(params)
        ticks = np.zeros(len(PHASES), dtype=np.uint64)
        t = 0
        fns = components(dtype, codes.ACTIVATIONS[activation], out_code, loss_code)
        wall, c0 = time.perf_counter(), _tick_now()
        for _ in range(n_epochs):
            order = rng.permutation(X.shape[0]).astype(np.int64)
            _, t = profiled_epoch(ticks, *fns, X.itemsize, as_bytes(params), as_bytes(m),
                                  as_bytes(v), as_bytes(X), as_bytes(Y), as_bytes(SW), order,
                                  batch, units, act_param, loss_param, alpha, lr, beta1, beta2,
                                  eps, t)
        c1, wall = _tick_now(), time.perf_counter() - wall
        rate = (c1 - c0) / wall  # counter ticks per second
        return ticks / rate / n_batches, wall

    run()  # compile
    per_batch, wall = min((run() for _ in range(repeats)), key=lambda r: r[1])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fixed epochs: "not converged" is expected
        getattr(fastnn, w.estimator)(**p).fit(X, y)
    return per_batch, wall, time.perf_counter() - start, n_batches


@njit(nogil=True)
def _tick_now():
    return int(_ticks())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", default=["W4", "W3-f64", "W3-f32"])
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS threads (default: the BLAS's own setting)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    chosen = adam_workloads(args.workloads, "the profile")
    limit = None
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(args.blas_threads)
    for w in chosen:
        per_batch, wall, fit_s, n_batches = profile(w, args.repeats)
        print(f"{w.name}: {n_batches} batches; profiled epochs {wall:.3f} s "
              f"(fastest of {args.repeats}), one fastnn fit {fit_s:.3f} s")
        for name, sec in zip(PHASES, per_batch):
            print(f"  {name:34s} {sec * 1e6:8.1f} us/batch  {100 * sec * n_batches / wall:5.1f}%")
    if limit is not None:
        limit.restore_original_limits()


if __name__ == "__main__":
    main()
