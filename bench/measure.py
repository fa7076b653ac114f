"""Measuring helpers: machine info, fit timing, flop counts, the BLAS
reference rate, memory, and running the probes of ``probes.py`` in fresh
Python processes."""

import datetime
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning

BENCH_DIR = Path(__file__).resolve().parent


# --------------------------------------------------------------------------
# Machine / version info
# --------------------------------------------------------------------------
def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def package_version(module):
    version = getattr(module, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version(module.__name__)
        except Exception:
            version = "unknown"
    return str(version)


def blas_info():
    """numpy's BLAS library as "name version" (best effort)."""
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:
        return "unknown"


def blas_threadpools():
    """The thread pools loaded in this process (BLAS, OpenMP) as threadpoolctl
    sees them: which library, how many threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [
        {"api": i.get("internal_api"), "version": i.get("version"), "num_threads": i.get("num_threads"),
         "library": os.path.basename(i.get("filepath", ""))}
        for i in threadpool_info()
    ]


def load_average():
    """The 1-minute load average (None where unavailable). Recorded because
    the timings mean little on a machine that other work keeps busy."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def machine_info(fastnn, torch=None):
    try:
        import numba

        numba_version = numba.__version__
        numba_threads = numba.config.NUMBA_NUM_THREADS
    except ImportError:
        numba_version, numba_threads = "not installed", None
    try:
        usable_cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable_cores = os.cpu_count()
    versions = {
        "numpy": np.__version__,
        "numba": numba_version,
        "scikit-learn": sklearn.__version__,
        "fastnn": package_version(fastnn),
    }
    if torch is not None:
        versions["torch"] = torch.__version__
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores,
        "numba_num_threads": numba_threads,
        "torch_num_threads": torch.get_num_threads() if torch is not None else None,
        "threadpools": blas_threadpools(),
        "blas": blas_info(),
        "load_avg_1min_at_start": load_average(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "versions": versions,
    }


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------
def timed_fit(make_estimator, X, y):
    """Fit a fresh estimator; return (estimator, seconds)."""
    est = make_estimator()
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, y)
        elapsed = time.perf_counter() - start
    return est, elapsed


# --------------------------------------------------------------------------
# Flops
# --------------------------------------------------------------------------
def network_units(est):
    """Layer widths u0..uL of a fitted scikit-learn/fastnn MLP."""
    return [int(c.shape[0]) for c in est.coefs_] + [int(est.coefs_[-1].shape[1])]


def train_flops_per_sample(units):
    """Flops of one training step per sample (matrix products only):
    forward 2*sum(u_i*u_{i+1}), weight gradients the same, input gradients
    2*u_i*u_{i+1} for every layer except the first."""
    macs = [a * b for a, b in zip(units[:-1], units[1:])]
    return 2 * sum(macs) + 2 * sum(macs) + 2 * sum(macs[1:])


def multiply_adds(units):
    return sum(a * b for a, b in zip(units[:-1], units[1:]))


def gflops(units, n_samples, n_epochs, seconds):
    if not seconds or seconds <= 0:
        return None
    return train_flops_per_sample(units) * n_samples * n_epochs / seconds / 1e9


def blas_rate(dtype, n=2048, repeats=5):
    """Best GFLOP/s of numpy's ``a @ b`` on (n, n) matrices of ``dtype``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    np.matmul(a, b, out=out)  # warm-up (threads, pages)
    best = float("inf")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(a, b, out=out)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        best = min(best, elapsed)
    return {"n": n, "times_s": times, "gflops": 2.0 * n**3 / best / 1e9}


_compiled_products_loops = None


def _products_loop(acts, deltas, weights, grads, batches, n_epochs):
    for _ in range(n_epochs):
        for b in batches:
            for l in range(len(weights)):
                np.dot(acts[l][:b], weights[l], acts[l + 1][:b])
            for l in range(len(weights) - 1, -1, -1):
                np.dot(acts[l][:b].T, deltas[l + 1][:b], grads[l])
                if l > 0:
                    np.dot(deltas[l + 1][:b], weights[l].T, deltas[l][:b])


def _team_products_loop(acts, deltas, weights, grads, batches, n_epochs, board, nw, serve):
    """``_products_loop``'s products as the mini-batch driver's team shares
    them (``fastnn.kernels.cpu.compiled.pool.team_gemm``; ``serve`` the
    address of the team's function)."""
    team = (_at(board, 0), nw, serve, _at(board, 0))  # no intercepts' sums: no scratch read
    double = acts[0].itemsize == 8
    for _ in range(n_epochs):
        for b in batches:
            for l in range(len(weights)):
                fi, fo = weights[l].shape
                _team_gemm(team, double, False, False, b, fo, fi, _at(acts[l], 0),
                           _at(weights[l], 0), 0.0, _at(acts[l + 1], 0))
            for l in range(len(weights) - 1, -1, -1):
                fi, fo = weights[l].shape
                _team_gemm(team, double, True, False, fi, fo, b, _at(acts[l], 0),
                           _at(deltas[l + 1], 0), 0.0, _at(grads[l], 0))
                if l > 0:
                    _team_gemm(team, double, False, True, b, fi, fo, _at(deltas[l + 1], 0),
                               _at(weights[l], 0), 0.0, _at(deltas[l], 0))
    _team_done(team)


def products_runner(units, n_samples, batch_size, dtype):
    """A function of ``n_epochs`` that runs the matrix products alone of
    that many mini-batch epochs, at their exact shapes, and returns the
    seconds they took: per batch, every layer's forward product and weight
    gradient and every input gradient but the first layer's
    (``train_flops_per_sample``'s products). They run as fastnn runs them,
    into preallocated outputs from Numba-compiled code with no Python in
    between, through the same BLAS, both ways a fit may: by BLAS's own
    threads (``np.dot``), and shared by rows among the mini-batch
    driver's team of threads, BLAS held to one thread
    (``fastnn.kernels.cpu._pool``); the faster way's time is returned. No
    training that does these products through this BLAS takes less time.

    Every product reads inputs that the previous batch did not change
    (fixed data and output deltas, weights scaled by 1/sqrt(fan-in)), so
    the values stay of order one: no overflow or denormals to slow it."""
    import numba  # here, not at the top: the probes' processes must not load it
    from numba.typed import List

    from fastnn.kernels.cpu import _pool

    global _compiled_products_loops, _at, _team_gemm, _team_done
    if _compiled_products_loops is None:
        from fastnn.kernels.cpu.compiled import pool, pointers

        _at, _team_gemm, _team_done = pointers.at, pool.team_gemm, pool.team_done
        _compiled_products_loops = (numba.njit(_products_loop),
                                    numba.njit(nogil=True)(_team_products_loop),
                                    pool.serve_component().address)
    loop, team_loop, serve = _compiled_products_loops
    rng = np.random.default_rng(0)
    batches = [batch_size] * (n_samples // batch_size)
    if n_samples % batch_size:
        batches.append(n_samples % batch_size)
    batches = np.array(batches, dtype=np.int64)

    def buffers():
        return List([rng.standard_normal((batch_size, u)).astype(dtype) for u in units])

    acts, deltas = buffers(), buffers()
    weights = List([(rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
                    for a, b in zip(units[:-1], units[1:])])
    grads = List([np.empty_like(w) for w in weights])
    loop(acts, deltas, weights, grads, batches[:1], 1)  # compile
    team_loop(acts, deltas, weights, grads, batches[:1], 1, _pool.BOARD, 0, serve)

    def run(n_epochs):
        start = time.perf_counter()
        loop(acts, deltas, weights, grads, batches, n_epochs)
        blas = time.perf_counter() - start
        start = time.perf_counter()
        _pool.run(lambda nw: team_loop(acts, deltas, weights, grads, batches, n_epochs,
                                       _pool.BOARD, nw, serve), serve)
        return min(blas, time.perf_counter() - start)

    return run


def _product_loop(kind, a, b, out, n):
    for _ in range(n):
        if kind == 0:  # forward: out (rows, fo) = a (rows, fi) @ b (fi, fo)
            np.dot(a, b, out)
        elif kind == 1:  # weight gradient: out (fi, fo) = a (rows, fi).T @ b (rows, fo)
            np.dot(a.T, b, out)
        else:  # input gradient: out (rows, fi) = a (rows, fo) @ b (fi, fo).T
            np.dot(a, b.T, out)


_compiled_product_loop = None
PRODUCT_KINDS = ("forward", "weight grad", "input grad")


def product_threads(units, batch_size, dtype, threads=(1, 2), rounds=3, seconds=0.02):
    """Each matrix product of a mini-batch step at its exact shape (a full
    batch of ``batch_size`` rows; ``products_runner``'s products), timed
    with each BLAS thread count of ``threads``, the counts taking turns
    round after round; returns one dict per product: its layer, kind,
    shape (m, k, n: an (m, k) @ (k, n) product), and the fastest
    microseconds a call per thread count. No training picks a thread count
    per product today: this says what picking one would gain."""
    import numba
    from threadpoolctl import threadpool_limits

    global _compiled_product_loop
    if _compiled_product_loop is None:
        _compiled_product_loop = numba.njit(_product_loop)
    loop = _compiled_product_loop
    rng = np.random.default_rng(0)
    rows = batch_size
    out = []
    for l, (fi, fo) in enumerate(zip(units[:-1], units[1:])):
        x = rng.standard_normal((rows, fi)).astype(dtype)
        w = (rng.standard_normal((fi, fo)) / np.sqrt(fi)).astype(dtype)
        d = rng.standard_normal((rows, fo)).astype(dtype)
        cases = [(0, x, w, np.empty((rows, fo), dtype)), (1, x, d, np.empty((fi, fo), dtype))]
        if l > 0:
            cases.append((2, d, w, np.empty((rows, fi), dtype)))
        for kind, a, b, c in cases:
            loop(kind, a, b, c, 3)  # compiled, and the operands in cache
            flops = 2.0 * rows * fi * fo
            # Each timing about ``seconds`` long at 50 GFLOP/s.
            n = max(20, int(seconds * 50e9 / flops))
            best = {t: np.inf for t in threads}
            for _ in range(rounds):
                for t in threads:
                    with threadpool_limits(limits=t, user_api="blas"):
                        start = time.perf_counter()
                        loop(kind, a, b, c, n)
                        best[t] = min(best[t], (time.perf_counter() - start) / n)
            # (m, k, n): an (m, k) @ (k, n) product
            shape = ((rows, fi, fo), (fi, rows, fo), (rows, fo, fi))[kind]
            out.append({"layer": l, "kind": PRODUCT_KINDS[kind], "shape": list(shape),
                        "us": {str(t): best[t] * 1e6 for t in threads}, "flops": flops})
    return out


# --------------------------------------------------------------------------
# Memory
# --------------------------------------------------------------------------
MIB = 1024.0 * 1024.0


def _proc_status(field):
    """A "kB" field of /proc/self/status in bytes, or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def ru_maxrss():
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in bytes (KiB on Linux, bytes on
    macOS). Caution: in a process started by ``subprocess`` (fork/vfork +
    exec) Linux carries the *parent's* peak over into the child's
    ``ru_maxrss``, so in the probes it can read as the benchmark's own peak."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss():
    """Resident set size now, bytes (Linux VmRSS; elsewhere the peak)."""
    rss = _proc_status("VmRSS")
    return rss if rss is not None else ru_maxrss()


def peak_rss():
    """This process's own peak RSS, bytes: Linux VmHWM (reset by exec,
    unlike ru_maxrss), elsewhere ``ru_maxrss``."""
    hwm = _proc_status("VmHWM")
    return hwm if hwm is not None else ru_maxrss()


# --------------------------------------------------------------------------
# Probes in fresh processes
# --------------------------------------------------------------------------
def run_probe(args, env=None, timeout=900):
    """Run ``python bench/probes.py ARGS`` in a fresh process and return the
    JSON object it prints on its last stdout line, or ``{"error": ...}``."""
    cmd = [sys.executable, str(BENCH_DIR / "probes.py"), *map(str, args)]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s", "cmd": cmd}
    wall = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"error": f"exit status {proc.returncode}: " + " | ".join(tail), "cmd": cmd}
    try:
        result = json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"error": f"unparsable probe output: {lines[-1][:200]}", "cmd": cmd}
    result["process_wall_s"] = wall
    return result
