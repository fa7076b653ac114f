"""Where a workload's warm fits spend their time, thread by thread: a
``perf`` profile of the shipped kernels, sorted into the parts of an
epoch (the matrix products, the optimizer step, the layers, the head,
the rows' gather, Python), and the optimizer step alone, timed hot in
cache, against what 85% of the products-alone bound leaves for
everything outside the products.

Usage::

    python bench/fit_profile.py W3-f64 [W5 ...] [--fits 3]

Needs Linux ``perf`` (``perf record -e cpu-clock`` works in a virtual
machine without hardware counters). A child process fits the workload
once to load the kernels (``FASTNN_PERF_MAP=1`` names their functions
for perf), then ``--fits`` more times; only samples taken during those
fits count. The BLAS threads' share spent waiting is the time the
fit's own thread ran alone.

For a mini-batch workload it then times the step alone (the per-sample
driver takes its steps itself), and for a dense one the products alone of a
fit (``measure.products_runner``, run.py's bound; fastest of 3) and
prints what 85% of that bound leaves for everything else, ``products /
0.85 - products``, beside the step's time.
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import measure  # noqa: E402
import workloads  # noqa: E402

_CHILD = r"""
import sys, time, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import fastnn, workloads
w = workloads.WORKLOADS_BY_NAME[sys.argv[2]]
X, _, y, _ = workloads.workload_data(w)
make = getattr(fastnn, w.estimator)
make(**w.params).fit(X, y)
start = time.clock_gettime(time.CLOCK_MONOTONIC)
for _ in range(int(sys.argv[3])):
    est = make(**w.params).fit(X, y)
end = time.clock_gettime(time.CLOCK_MONOTONIC)
print(start, end, est.n_iter_)
"""

#: (category, pattern on the symbol), the first match wins.
_MAIN = (
    # memset: BLAS clearing a product's output (perf --call-graph dwarf:
    # memset under scipy_dgemm_ and in the BLAS threads)
    ("matrix products (BLAS, its waits, its clearing)",
     r"gemm|inner_thread|exec_blas|blas_|_copy_|openblas|memset"),
    ("optimizer step", r"compiled10optimizers"),
    ("hidden layers", r"compiled11activations"),
    ("output head and loss", r"compiled6losses|__ieee754_log|__log_"),  # libm: the loss's log
    ("sparse first layer", r"compiled6sparse"),
    # batch_size 1: the fused per-sample step, all of it but the layers'
    # components and the head
    ("epoch driver (the rows' gather; per-sample: the step)", r"compiled6epochs|memmove|memcpy"),
    ("kernel (page faults, scheduler)", r"^\[k\]"),
)
_WAIT = r"blas_thread_server|sched_yield|__sched|\[k\]"


def _categorize(sym, table):
    for name, pattern in table:
        if re.search(pattern, sym):
            return name
    return "Python and the rest"


def profile(name, fits, bench_dir):
    """{thread: Counter(symbol -> samples)}, the fit's thread, the fits'
    wall seconds and the epochs of a fit."""
    if shutil.which("perf") is None:
        sys.exit("bench/fit_profile.py needs Linux perf on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        env = dict(os.environ, FASTNN_PERF_MAP="1")
        child = subprocess.run(
            ["perf", "record", "-q", "-k", "CLOCK_MONOTONIC", "-e", "cpu-clock", "-F", "1000",
             "-o", data, sys.executable, "-c", _CHILD, bench_dir, name, str(fits)],
            env=env, capture_output=True, text=True)
        if child.returncode:
            sys.exit(f"perf record failed:\n{child.stderr}")
        start, end, n_iter = child.stdout.split()[-3:]
        start, end = float(start), float(end)
        script = subprocess.run(["perf", "script", "-i", data, "-F", "pid,tid,time,ip,sym"],
                                capture_output=True, text=True).stdout
    threads = collections.defaultdict(collections.Counter)
    fit_thread = None
    for line in script.splitlines():
        m = re.match(r"\s*(\d+)/(\d+)\s+([\d.]+):\s+([0-9a-f]+)\s*(.*)", line)
        if not m:
            continue
        pid, tid, t, sym = int(m[1]), int(m[2]), float(m[3]), m[5].strip() or "?"
        if m[4].startswith("ffffffff"):
            sym = "[k] " + sym  # the kernel's code
        if pid == tid and fit_thread is None and start <= t <= end:
            fit_thread = tid
        if start <= t <= end:
            threads[tid][sym] += 1
    return threads, fit_thread, end - start, int(n_iter)


def _step_hot(w, X, y, n_iter, repeats=5, calls=200):
    """The shipped optimizer step on the workload's parameters, hot in
    cache, in a compiled loop: seconds a call, the batches of a fit of
    ``n_iter`` epochs, and the parameters."""
    import warnings

    import numba

    import fastnn
    from fastnn.kernels import codes
    from fastnn.kernels.cpu import aligned
    from fastnn.kernels.cpu.compiled.optimizers import call_step, step_component
    from fastnn.kernels.cpu.compiled.pointers import at
    from fastnn.kernels.optimizers import adam_lr
    from fastnn.kernels.cpu.optimizers import STEP

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch on a few rows: the network's shapes
        est = getattr(fastnn, w.estimator)(**dict(w.params, max_iter=1)).fit(X[:300], y[:300])
    n = sum(c.size + b.size for c, b in zip(est.coefs_, est.intercepts_))
    n_coef = sum(c.size for c in est.coefs_)
    dtype = X.dtype.type
    solver = codes.SOLVERS[est.solver]
    fn = step_component(solver, dtype).address
    rng = np.random.default_rng(0)
    P, M1, G = (aligned(rng.standard_normal(n).astype(dtype)) for _ in range(3))
    M2 = aligned(np.abs(rng.standard_normal(n)).astype(dtype))
    batch = est.batch_size
    batch = min(200 if batch == "auto" else batch, X.shape[0])
    lr = est.learning_rate_init
    if solver == codes.ADAM:
        lr = adam_lr(lr, est.beta_1, est.beta_2, 10)

    @numba.njit
    def loop(p, m1, m2, g, calls):
        for _ in range(calls):
            call_step(fn, STEP, at(p, 0), at(m1, 0), at(m2, 0), at(g, 0), n, n_coef, 1e-4,
                      float(batch), lr, 0.9, True, 0.9, 0.999, 1e-8, False)

    buffers = [a.view(np.uint8) for a in (P, M1, M2, G)]
    loop(*buffers, 1)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        loop(*buffers, calls)
        best = min(best, (time.perf_counter() - t) / calls)
    batches = -(-X.shape[0] // batch) * n_iter
    return best, batches, n, measure.network_units(est), batch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="+")
    parser.add_argument("--fits", type=int, default=3)
    args = parser.parse_args()
    bench_dir = os.path.dirname(os.path.abspath(__file__))
    for name in args.workloads:
        w = workloads.WORKLOADS_BY_NAME[name]
        threads, fit_thread, wall, n_iter = profile(name, args.fits, bench_dir)
        fit_s = wall / args.fits
        print(f"{name}: {args.fits} fits under perf, {fit_s:.3f} s a fit")
        parts = collections.Counter()
        for sym, c in threads.get(fit_thread, {}).items():
            parts[_categorize(sym, _MAIN)] += c
        total = sum(parts.values()) or 1
        print(f"  the fit's thread ({total} samples):")
        for cat, c in parts.most_common():
            print(f"    {100 * c / total:5.1f}%  {c / total * fit_s:6.3f} s a fit  {cat}")
        for tid, counts in threads.items():
            if tid == fit_thread or sum(counts.values()) < 0.05 * total:
                continue
            waits = sum(c for sym, c in counts.items() if re.search(_WAIT, sym))
            n = sum(counts.values())
            print(f"  BLAS thread {tid}: {n} samples, {100 * waits / n:.1f}% waiting "
                  f"(the fit's thread alone), {100 * (n - waits) / n:.1f}% in products")
        X, _, y, _ = workloads.workload_data(w)
        if w.params.get("batch_size") == 1:
            continue  # the per-sample driver takes its steps itself
        call, batches, n_params, units, batch = _step_hot(w, X, y, n_iter)
        print(f"  the optimizer step alone, hot in cache: {call * 1e6:.1f} us a batch "
              f"({n_params} parameters, {call / n_params * 1e9:.2f} ns each) x {batches} "
              f"batches = {call * batches:.3f} s a fit")
        if not sp.issparse(X):
            run = measure.products_runner(units, X.shape[0], batch, X.dtype)
            products = min(run(n_iter) for _ in range(3))
            left = products / 0.85 - products
            print(f"  the products alone {products:.3f} s a fit (fastest of 3); 85% of that "
                  f"bound leaves {left:.3f} s a fit for everything else: the step alone takes "
                  f"{100 * call * batches / left:.0f}% of it")


if __name__ == "__main__":
    main()
