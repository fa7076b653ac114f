"""fastnn's benchmark: fastnn against scikit-learn (and PyTorch on the CPU
when it is installed), on the reference workloads of ``workloads.py``.

Usage::

    python bench/run.py [--quick] [--repeats N] [--only W2,W3-f32,...]
                        [--torch | --no-torch] [--blas-threads N] [--out DIR]

Modules: ``workloads.py`` (data and estimator parameters), ``measure.py``
(timing, flops, BLAS rate, memory, probe runner), ``probes.py`` (what runs
in fresh processes), ``torch_ref.py`` (the PyTorch mirror), ``plots.py``.

Sections (each can be picked with ``--only``, together with workload names):

workloads
    Each workload is fitted by every library with the same parameters on
    the same standardized data (the sparse S1 and S2 as they are; no
    GFLOP/s or bound for them, and no PyTorch). fastnn gets one warm-up fit first (Numba
    kernels loaded or compiled; reported as "first fit") and PyTorch a
    1-epoch warm-up; then the libraries take turns for ``repeats`` timed
    fits each (scikit-learn's are capped at 2 on W2 in full mode, see the
    "reps" column). Reported: median fit time, sklearn/fastnn (of the
    medians and of the fastest fits) and sklearn/torch ratios, test
    scores, ``n_iter_``, and fastnn's achieved GFLOP/s (matrix-product
    flops of training, see ``measure.py``) next to numpy's matrix-multiply
    rate, measured at the start and the end of the run (the better of the
    two is used, as a busy machine drags it down).
activations
    fastnn's fit time with each hidden activation against relu's, float64
    and float32, on one network ((128, 128, 64), batch 64, 2 epochs, 30,000
    rows of W6's data; 7,500 with ``--quick``): the activations take turns
    and each keeps its fastest fit.
threads
    Each matrix product of a training step of the dense mini-batch
    workloads (W1, W3 to W6), at its exact shape, with one BLAS thread and
    with two, the two taking turns (fastest of 3 each): which products two
    threads slow down, and the batch's products with the faster count for
    each against two threads for all.
startup
    What a process pays before fastnn is fast, each in fresh processes:
    the first fits on a cold cache (empty ``NUMBA_CACHE_DIR``; the median
    of three processes, one with ``--quick``) of the defaults, then
    float32, lbfgs and batch_size=1, then read-only input; the same on a
    warm cache; importing each library; numba's own import and first
    call; ``python -m fastnn warmup``; fresh-pool GridSearchCV and
    BaggingClassifier (n_jobs=2) against scikit-learn's; a cold cache met
    by a two-worker grid search against one worker.
rss
    Peak RSS of one W3-f64 fit, per library, each in a fresh process
    (Linux VmHWM: a child's ru_maxrss starts at its parent's peak).
predict (full mode only)
    fastnn predicting 5,000,000 float32 rows: throughput and peak memory
    beyond the input and output arrays.
scaling
    Fit time vs training rows (W3's network) and vs hidden width.

``--quick`` (about two and a half minutes on 2 cores) trains W2 to W6 on 10% of their
training rows (marked "quick-scaled"), does 1 timed fit, skips PyTorch
(unless ``--torch``), the digits and sparse extras and the predict probe, and shrinks
the scaling sweeps. Results go to ``OUT/results.json`` (everything, raw
times included) and, with matplotlib, ``OUT/speedup.png``,
``OUT/loss_curves.png``, ``OUT/scaling_n.png`` and ``OUT/scaling_width.png``;
the table goes to stdout and progress to stderr. This script only measures
and reports: it asserts nothing about the timings. The timings are only as
good as the machine is quiet: the 1-minute load average is recorded at the
start and the end (and after each workload), and the report warns when the
machine was busy.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn.neural_network

import measure
import plots
import workloads as wl

DEFAULT_REPEATS = 3
QUICK_REPEATS = 1
#: Where the subprocesses run: outside the checkout's root, whose fastnn/
#: would stand in for the installed package (the probes, run as scripts
#: from here, import the installed one too).
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = BENCH_DIR / "results"
SECTIONS = ("workloads", "activations", "threads", "startup", "rss", "predict", "scaling")
FULL_ONLY_SECTIONS = ("predict",)
PREDICT_ROWS = 5_000_000

_T0 = time.perf_counter()


def log(msg):
    print(f"[{time.perf_counter() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------
def _add_rates(entry, units, n_train, blas_gflops, lbfgs):
    """GFLOP/s of the median and of the fastest fit (not for lbfgs, whose
    n_iter_ does not count its function evaluations) and their shares of
    the BLAS rate."""
    for key, time_key in (("gflops", "median_s"), ("best_gflops", "min_s")):
        entry[key] = (None if lbfgs or not units
                      else measure.gflops(units, n_train, entry["n_iter"], entry[time_key]))
    _add_shares(entry, blas_gflops)


def _add_shares(entry, blas_gflops):
    """pct_blas and best_pct_blas: the median and fastest fits' rates as a
    share of the BLAS rate."""
    for key in ("", "best_"):
        rate = entry.get(key + "gflops")
        entry[key + "pct_blas"] = 100.0 * rate / blas_gflops if rate and blas_gflops else None


def run_workload(w, quick, repeats, torch_mod, blas):
    """One workload: a warm-up fit per library, then timed fits in turns,
    with the matrix products alone of fastnn's epochs timed between them;
    returns the workload's result dict."""
    X_train, X_test, y_train, y_test = wl.workload_data(w, quick)
    result = _workload_header(w, quick, X_train, X_test)
    reps = {"sklearn": repeats, "fastnn": repeats}
    if not quick and w.sklearn_repeats:
        reps["sklearn"] = min(repeats, w.sklearn_repeats)
    makers, errors, first_fit, n_epochs, products = _warm_ups(w, result, reps, repeats,
                                                              torch_mod, X_train, y_train)
    times, last, products_times = _timed_fits(makers, reps, errors, products, n_epochs,
                                              X_train, y_train)
    _summarize(w, result, makers, errors, times, last, first_fit, blas, X_test, y_test)
    earlier = []
    if products_times:
        # W5 has W3-f64's products: the same products, timed for another
        # workload of this run, bound this one as well.
        key = (tuple(result["units"]), result["n_train"], w.params.get("batch_size"), w.dtype,
               n_epochs)
        earlier = list(_PRODUCTS_RUN.get(key, []))
        _PRODUCTS_RUN.setdefault(key, []).extend((w.name, t) for t in products_times)
    _speedups(result, products_times, n_epochs, blas.get(w.dtype, {}).get("gflops"), earlier)
    result["load_avg_1min_after"] = measure.load_average()
    return result


#: The products-alone runs of this run's workloads, by what sets their
#: products: (units, rows, batch size, dtype, epochs) -> [(workload, s)].
_PRODUCTS_RUN = {}


def _workload_header(w, quick, X_train, X_test):
    """What the workload is: its description, data shape and parameters."""
    return {
        "description": w.description,
        "dataset": w.dataset,
        "estimator": w.estimator,
        "params": wl.jsonable_params(w.params),
        "dtype": w.dtype,
        "n_train": int(X_train.shape[0]),
        "n_test": int(X_test.shape[0]),
        "n_features": int(X_train.shape[1]),
        "quick_scaled": bool(quick and w.quick_fraction < 1.0),
        "train_fraction": w.quick_fraction if quick else 1.0,
    }


def _finish_background():
    """Wait for the compile a fit may have left running in a helper process
    (a per-sample driver made for the network's shape: the fits after it
    run that one), so that no fit is timed beside it; returns the units
    it compiled."""
    from fastnn.kernels.cpu import _cache

    return _cache.finish_background()


def _warm_ups(w, result, reps, repeats, torch_mod, X_train, y_train):
    """fastnn's warm-up fit (its "first fit") and PyTorch's 1-epoch one, not
    timed into the medians; returns (the libraries' estimator makers, the
    errors so far, the first fit's seconds, fastnn's epochs, the products
    runner or None)."""
    import fastnn

    classes = {
        "sklearn": getattr(sklearn.neural_network, w.estimator),
        "fastnn": getattr(fastnn, w.estimator),
    }
    makers = {lib: (lambda cls=cls: cls(**w.params)) for lib, cls in classes.items()}
    sparse = sp.issparse(X_train)  # no dense products to count or bound
    n_train = int(X_train.shape[0])
    errors = {}
    log(f"  fastnn: warm-up fit ({n_train} rows) ...")
    try:
        est, first_fit = measure.timed_fit(makers["fastnn"], X_train, y_train)
        n_epochs = est.n_iter_
        waited = _finish_background()
        if waited:
            log(f"  fastnn: compiled {', '.join(waited)} in the background")
    except Exception as exc:  # a failing library is reported, the run goes on
        errors["fastnn"] = f"{type(exc).__name__}: {exc}"
        first_fit, n_epochs = None, w.params.get("max_iter", 200)
    if torch_mod is not None:
        import torch_ref

        if sparse or not torch_ref.supported(w.params):
            result["torch"] = {"skipped": "configuration not mirrored in PyTorch (lbfgs, sparse)"}
        else:
            dtype = np.dtype(w.dtype)
            makers["torch"] = lambda: torch_ref.TorchMLP(w.estimator, w.params, n_epochs, dtype)
            reps["torch"] = repeats
            log(f"  torch: warm-up fit (1 epoch); timed fits run {n_epochs} epochs ...")
            try:
                torch_ref.TorchMLP(w.estimator, w.params, 1, dtype).fit(X_train, y_train)
            except Exception as exc:
                errors["torch"] = f"{type(exc).__name__}: {exc}"

    # The matrix products alone of fastnn's epochs, through the same BLAS
    # (by its own threads or shared by the epochs' team, the faster): no
    # training doing them through this BLAS is faster, which bounds the
    # speed-up. They take their turn with the timed fits.
    batch = w.params.get("batch_size", "auto")
    batch = min(200, n_train) if batch == "auto" else int(batch)
    products = None
    if w.params.get("solver") != "lbfgs" and not sparse and batch > 1 and "fastnn" not in errors:
        products = measure.products_runner(measure.network_units(est), n_train, batch,
                                           np.dtype(w.dtype))
    return makers, errors, first_fit, n_epochs, products


def _timed_fits(makers, reps, errors, products, n_epochs, X_train, y_train):
    """The timed fits, the libraries taking turns (load drifts hit all
    alike), and the products alone after each round; returns (each
    library's fit times, its last fitted estimator, the products' times)."""
    times = {lib: [] for lib in makers}
    products_times = []
    last = {}
    for r in range(max(reps.values())):
        for lib in makers:
            if r >= reps[lib] or lib in errors:
                continue
            log(f"  {lib}: timed fit {r + 1}/{reps[lib]} ...")
            try:
                est, elapsed = measure.timed_fit(makers[lib], X_train, y_train)
            except Exception as exc:
                errors[lib] = f"{type(exc).__name__}: {exc}"
                continue
            times[lib].append(elapsed)
            last[lib] = est
        if products is not None and r < reps["fastnn"]:
            log(f"  the matrix products alone, {n_epochs} epochs {r + 1}/{reps['fastnn']} ...")
            products_times.append(products(n_epochs))
    return times, last, products_times


def _summarize(w, result, makers, errors, times, last, first_fit, blas, X_test, y_test):
    """Each library's entry: its times, score, epochs and rates."""
    units = None
    for lib in ("fastnn", "sklearn"):
        if lib in last:
            units = measure.network_units(last[lib])
            break
    result["units"] = units
    result["train_flops_per_sample_epoch"] = measure.train_flops_per_sample(units) if units else None
    blas_rate = blas.get(w.dtype, {}).get("gflops")
    sparse = sp.issparse(X_test)
    for lib in makers:
        if lib in errors:
            result[lib] = {"error": errors[lib]}
            log(f"  {lib}: ERROR {errors[lib]}")
            continue
        est = last[lib]
        entry = {
            "repeats": len(times[lib]),
            "times_s": times[lib],
            "median_s": statistics.median(times[lib]),
            "min_s": min(times[lib]),
            "score": float(est.score(X_test, y_test)),
            "n_iter": int(est.n_iter_),
            "loss_curve": [float(v) for v in (getattr(est, "loss_curve_", None) or [])] or None,
        }
        _add_rates(entry, None if sparse else units, result["n_train"], blas_rate,
                   w.params.get("solver") == "lbfgs")
        if lib == "fastnn":
            entry["first_fit_s"] = first_fit
        result[lib] = entry


def _speedups(result, products_times, n_epochs, blas_rate, earlier=()):
    """The speed-ups (medians, fastest fits, PyTorch's) and the bound that
    the products alone set: the fastest of ``products_times`` and of
    ``earlier``, the (workload, seconds) runs of the same products for
    workloads before this one."""
    sk, fn, pt = (result.get(k) for k in ("sklearn", "fastnn", "torch"))
    ok = lambda e: isinstance(e, dict) and e.get("median_s")  # noqa: E731
    result["speedup"] = sk["median_s"] / fn["median_s"] if ok(sk) and ok(fn) else None
    # Noise only adds time: the fastest fits' ratio moves less between runs.
    result["speedup_best"] = sk["min_s"] / fn["min_s"] if ok(sk) and ok(fn) else None
    result["speedup_torch"] = sk["median_s"] / pt["median_s"] if ok(sk) and ok(pt) else None
    result["products_only_s"] = result["speedup_bound"] = None
    result["products_gflops"] = result["products_pct_blas"] = None
    if products_times and ok(sk) and ok(fn):
        # The fastest run of the products, not their median: a bound must
        # hold even when the machine slowed some of the runs.
        best = min([*products_times, *(t for _, t in earlier)])
        result["products_times_s"] = products_times
        result["products_earlier"] = [list(e) for e in earlier]
        result["products_only_s"] = best
        result["speedup_bound"] = sk["median_s"] / best
        # A fit faster than every run of its own products alone means the
        # machine slowed all of those runs: the bound is void.
        result["speedup_bound_void"] = fn["min_s"] < best
        result["products_gflops"] = measure.gflops(result["units"], result["n_train"], n_epochs,
                                                   best)
        if blas_rate:
            result["products_pct_blas"] = 100.0 * result["products_gflops"] / blas_rate


# --------------------------------------------------------------------------
# Compile cost, RSS, predict (fresh processes)
# --------------------------------------------------------------------------
#: Importing a library into a fresh interpreter: its time and RSS (JSON).
_IMPORT = """
import json, time
def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmRSS"))
start = time.perf_counter()
import {module}
print(json.dumps({{"import_s": time.perf_counter() - start, "rss_mib": rss()}}))
"""


def _import_cost(module):
    """Median of three fresh interpreters importing ``module``."""
    runs = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", _IMPORT.format(module=module)],
                              capture_output=True, text=True, timeout=300, cwd=BENCH_DIR)
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:]}
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _median_of(runs, *path):
    values = []
    for r in runs:
        for key in path:
            r = r.get(key) if isinstance(r, dict) else None
        if r is not None:
            values.append(r)
    return statistics.median(values) if values else None


def run_startup(quick):
    """Start-up costs, each in fresh processes (probes.py): the first fits
    on a cold cache (``runs`` processes with empty caches: the median,
    since one cold run moves with the machine's spells) and on a warm one;
    importing each library; numba's own cost; the warm-up command;
    fresh-pool GridSearchCV and BaggingClassifier against scikit-learn's;
    a cold cache met by a two-worker grid search against one worker."""
    runs = 1 if quick else 3
    out = {"runs": runs}
    caches = []

    def new_cache():
        caches.append(tempfile.mkdtemp(prefix="fastnn-bench-numba-cache-"))
        return {"NUMBA_CACHE_DIR": caches[-1]}

    try:
        cold = []
        for k in range(runs):
            log(f"  first fits, cold cache ({k + 1}/{runs}): fresh process, empty NUMBA_CACHE_DIR ...")
            cold.append(measure.run_probe(["first-fits"], env=new_cache()))
        warm_env = {"NUMBA_CACHE_DIR": caches[-1]}
        log("  first fits, warm cache: fresh process, same NUMBA_CACHE_DIR ...")
        out["warm"] = measure.run_probe(["first-fits"], env=warm_env)
        out["cold_runs"] = cold
        ok = [r for r in cold if "error" not in r]
        out["cold"] = {step: {"extra_s": _median_of(ok, step, "extra_s"),
                              "compiled_units": _median_of(ok, step, "compiled_units"),
                              "background_units": statistics.median(
                                  [len(r.get(step, {}).get("background_units", []))
                                   for r in ok]) if ok else None}
                       for step in ("default", "float32", "lbfgs", "batch_size=1", "read_only")}
        log("  imports: fresh interpreters ...")
        out["import"] = {"sklearn": _import_cost("sklearn.neural_network"),
                         "fastnn": _import_cost("fastnn")}
        floor_env = new_cache()
        measure.run_probe(["numba-floor"], env=floor_env)  # compiles the trivial function
        out["numba_floor"] = measure.run_probe(["numba-floor"], env=floor_env)
        log("  python -m fastnn warmup, into the warm cache ...")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "fastnn", "warmup", "--jobs", "2",
                               "--quiet"], env=dict(os.environ, **warm_env),
                              capture_output=True, text=True, timeout=1800, cwd=BENCH_DIR)
        out["warmup"] = {"seconds": time.perf_counter() - start, "returncode": done.returncode,
                         "stderr_tail": done.stderr.strip().splitlines()[-1:]}
        pools = {}
        for what, jobs in (("grid", 2), ("bagging", 2), ("grid", 1)):
            for lib in ("sklearn", "fastnn", "none"):
                log(f"  {what}, n_jobs={jobs}, {lib}: fresh process, fresh workers ...")
                pools[f"{what}-{jobs}-{lib}"] = measure.run_probe(
                    ["pool", "--lib", lib, "--what", what, "--jobs", jobs], env=warm_env)
        out["pools"] = pools
        cold_pool = {}
        for jobs in (1, 2):
            log(f"  grid, n_jobs={jobs}, fastnn, cold cache: fresh process ...")
            cold_pool[str(jobs)] = measure.run_probe(
                ["pool", "--lib", "fastnn", "--what", "grid", "--jobs", jobs], env=new_cache())
        out["cold_pool"] = cold_pool
    finally:
        for cache in caches:
            shutil.rmtree(cache, ignore_errors=True)
    return out


def run_rss(quick):
    w = wl.WORKLOADS_BY_NAME["W3-f64"]
    X_train, _, y_train, _ = wl.workload_data(w, quick)
    tmp = tempfile.mkdtemp(prefix="fastnn-bench-rss-")
    try:
        np.save(f"{tmp}/X.npy", X_train)
        np.save(f"{tmp}/y.npy", y_train)
        out = {"workload": "W3-f64", "n_train": int(X_train.shape[0]),
               "quick_scaled": bool(quick and w.quick_fraction < 1.0)}
        for lib in ("sklearn", "fastnn", "fastnn"):  # fastnn's first run fills the cache
            log(f"  {lib}: one W3-f64 fit ({X_train.shape[0]} rows) in a fresh process ...")
            out[lib] = measure.run_probe([
                "rss-fit", "--lib", lib, "--data", tmp, "--estimator", w.estimator,
                "--params", json.dumps(wl.jsonable_params(w.params)),
            ])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def run_predict():
    out = {"rows": PREDICT_ROWS}
    for dtype in ("float32", "float64"):
        log(f"  model trained in {dtype}, predicting {PREDICT_ROWS:,} float32 rows ...")
        out[dtype] = measure.run_probe(["predict", "--rows", PREDICT_ROWS, "--model-dtype", dtype])
    return out


# --------------------------------------------------------------------------
# What each hidden activation costs
# --------------------------------------------------------------------------
ACTIVATIONS = ("relu", "identity", "leaky_relu", "logistic", "tanh", "elu", "softplus", "gelu",
               "silu")


def run_activations(quick):
    """Each hidden activation's fit against relu's, on one network and data
    set, in both dtypes. The activations take turns, round after round, and
    each keeps its fastest fit: this machine's speed drifts over seconds,
    and a drift must not land on one activation."""
    import fastnn

    X, y = wl.load_split("classif-50k")[::2]  # (X_train, y_train)
    n = 7_500 if quick else 30_000
    # Five rounds: with three, one spell of the machine moved a ratio by up
    # to 0.18 (identity 1.18x relu's fit in float32, 2026-12-03 11:55).
    rounds = 2 if quick else 5
    params = wl.fixed_epochs(2, hidden_layer_sizes=(128, 128, 64), batch_size=64)
    out = {"description": f"{n} x 40 (W6's data), (128, 128, 64), adam, batch 64, 2 epochs; "
                          f"fastest of {rounds} fits taken in turns",
           "n": n, "rounds": rounds}
    for dtype in ("float64", "float32"):
        Xd = np.ascontiguousarray(X[:n], dtype=dtype)
        make = {a: (lambda a=a: fastnn.MLPClassifier(activation=a, **params)) for a in ACTIVATIONS}
        for a in ACTIVATIONS:  # kernels loaded (or compiled) before anything is timed
            measure.timed_fit(make[a], Xd[:256], y[:256])
        best = {a: np.inf for a in ACTIVATIONS}
        for r in range(rounds):
            log(f"  {dtype}: round {r + 1}/{rounds} of {len(ACTIVATIONS)} fits ...")
            for a in ACTIVATIONS:
                best[a] = min(best[a], measure.timed_fit(make[a], Xd, y[:n])[1])
        out[dtype] = {a: {"seconds": best[a], "vs_relu": best[a] / best["relu"]}
                      for a in ACTIVATIONS}
    return out


THREAD_WORKLOADS = ("W1", "W3-f64", "W3-f32", "W4", "W6")


def run_threads(quick):
    """``measure.product_threads`` for the networks and batch sizes of the
    dense mini-batch workloads (W5 has W3-f64's products, so it is left
    out)."""
    import fastnn

    out = {}
    for w in wl.WORKLOADS:
        if w.name not in THREAD_WORKLOADS:
            continue
        X, _, y, _ = wl.workload_data(w, quick=quick)
        # One short fit on a few rows, for the network's widths
        est = getattr(fastnn, w.estimator)(**{**w.params, "max_iter": 1})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            units = measure.network_units(est.fit(X[:500], y[:500]))
        batch = min(200, X.shape[0]) if est.batch_size == "auto" else est.batch_size
        log(f"  {w.name}: {len(units) - 1} layers, batch {batch} ...")
        out[w.name] = {"units": units, "batch_size": batch, "dtype": w.dtype,
                       "products": measure.product_threads(units, batch, np.dtype(w.dtype))}
    return out


def threads_report(th):
    lines = ["Matrix products of one training step, one BLAS thread against two "
             "(us a call, fastest of 3; m x k x n: an (m, k) @ (k, n) product):"]
    for name, e in th.items():
        cells, two, best = [], 0.0, 0.0
        for p in e["products"]:
            one_us, two_us = p["us"]["1"], p["us"]["2"]
            two += two_us
            best += min(one_us, two_us)
            m, k, n = p["shape"]
            mark = " <" if one_us < 0.9 * two_us else ""
            cells.append(f"L{p['layer']} {p['kind']} {m}x{k}x{n} {one_us:.1f}/{two_us:.1f}{mark}")
        lines.append(f"  {name} ({e['dtype']}, batch {e['batch_size']}): " + ", ".join(cells))
        lines.append(f"  {'':{len(name)}}  a batch's products: two threads {two:.0f} us, the "
                     f"faster count for each {best:.0f} us ({two / best:.2f}x)")
    lines.append("  (1-thread/2-thread us; < marks a product one thread runs over 10% faster)")
    return "\n".join(lines)


def activations_report(act):
    lines = [f"Hidden activations against relu ({act['description']}):"]
    for dtype in ("float64", "float32"):
        cells = [f"{a} {e['seconds']:.3f} s ({e['vs_relu']:.2f}x)" for a, e in act[dtype].items()]
        lines.append(f"  {dtype}: " + ", ".join(cells))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Scaling sweeps
# --------------------------------------------------------------------------
def _best_fit(make, X, y, repeats):
    return min(measure.timed_fit(make, X, y)[1] for _ in range(repeats))


def run_scaling(quick):
    import fastnn

    X_train, X_test, y_train, y_test = wl.load_split("classif-100k")
    X_all, y_all = np.vstack([X_train, X_test]), np.concatenate([y_train, y_test])
    fn_reps = 2
    # Kernels for this network loaded before anything is timed.
    measure.timed_fit(lambda: fastnn.MLPClassifier(**wl.fixed_epochs(1, batch_size=256)),
                      X_all[:512], y_all[:512])

    # -- fit time vs rows: W3's network and parameters.
    params = wl.WORKLOADS_BY_NAME["W3-f64"].params
    if quick:
        ns, sk_ns = [2_500, 5_000, 10_000, 20_000], {2_500, 5_000}
    else:
        ns, sk_ns = [5_000, 10_000, 20_000, 50_000, 100_000], {5_000, 10_000, 20_000, 50_000, 100_000}
    points = []
    for n in ns:
        X, y = X_all[:n], y_all[:n]
        log(f"  rows={n}: fastnn (best of {fn_reps})" + (" + sklearn" if n in sk_ns else "") + " ...")
        point = {"n": n, "fastnn": _best_fit(lambda: fastnn.MLPClassifier(**params), X, y, fn_reps)}
        if n in sk_ns:
            point["sklearn"] = _best_fit(lambda: sklearn.neural_network.MLPClassifier(**params), X, y, 1)
        points.append(point)
    by_n = {"description": "W3 network (256,128), adam, batch 256, 5 epochs, float64, "
                           "rows of W3's data (train+test)",
            "params": wl.jsonable_params(params), "points": points}

    # -- fit time vs hidden width: one hidden layer, 2 epochs.
    n_rows = 5_000 if quick else 20_000
    X, y = X_all[:n_rows], y_all[:n_rows]
    widths = [16, 32, 64, 128, 256, 512, 1024]
    sk_widths = {16, 128, 1024}
    points = []
    for width in widths:
        p = wl.fixed_epochs(2, hidden_layer_sizes=(width,), batch_size=256)
        log(f"  width={width}: fastnn (best of {fn_reps})" + (" + sklearn" if width in sk_widths else "") + " ...")
        units = [X.shape[1], width, 5]
        point = {"width": width, "multiply_adds": measure.multiply_adds(units),
                 "fastnn": _best_fit(lambda: fastnn.MLPClassifier(**p), X, y, fn_reps)}
        if width in sk_widths:
            point["sklearn"] = _best_fit(lambda: sklearn.neural_network.MLPClassifier(**p), X, y, 1)
        points.append(point)
    by_width = {"description": f"100 -> width -> 5, adam, batch 256, 2 epochs, {n_rows} rows of W3's data",
                "n_rows": n_rows, "points": points}
    return {"quick_scaled": quick, "n_samples": by_n, "width": by_width}


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def header_line(info, args):
    v = info["versions"]
    libs = f"numpy {v['numpy']}, numba {v['numba']}, scikit-learn {v['scikit-learn']}, fastnn {v['fastnn']}"
    if "torch" in v:
        libs += f", torch {v['torch']} ({info['torch_num_threads']} threads)"
    pools = info.get("threadpools") or []
    if pools:
        libs += " | threads: " + ", ".join(
            f"{p['library'].split('.so')[0].split('-')[0]} {p['num_threads']}" for p in pools)
    mode = "QUICK (reduced sizes)" if args.quick else "full"
    load = f"load {_fmt(info['load_avg_1min_at_start'], '.2f')} at start"
    if info.get("load_avg_1min_at_end") is not None:
        load += f", {info['load_avg_1min_at_end']:.2f} at end"
    return (
        f"{info['date']} | {info['platform']} | {info['cpu']} | "
        f"{info['usable_cores']}/{info['cpu_count']} cores, {load} | {libs} | BLAS {info['blas']} | "
        f"{mode}, median of up to {args.repeats} fit{'' if args.repeats == 1 else 's'}"
    )


def _fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def _cell(entry, key, spec):
    if not isinstance(entry, dict):
        return "-"
    if "error" in entry:
        return "error"
    if "skipped" in entry:
        return "n/a"
    return _fmt(entry.get(key), spec)


def format_table(columns, rows):
    widths = [max(len(title), *(len(row[i]) for row in rows)) for i, (title, _) in enumerate(columns)]

    def fmt(cells):
        return "  ".join(f"{c:{align}{w}}" for c, (_, align), w in zip(cells, columns, widths))

    return "\n".join([fmt([t for t, _ in columns]), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def workload_table(results, with_torch):
    columns = [("workload", "<"), ("rows", ">"), ("reps sk/fn", ">"), ("sklearn s", ">"),
               ("fastnn s", ">"), ("speed-up med/best", ">")]
    if with_torch:
        columns += [("torch s", ">"), ("sk/torch", ">")]
    columns += [("score sk/fn" + ("/pt" if with_torch else ""), ">"), ("n_iter sk/fn", ">"),
                ("fn GFLOP/s", ">"), ("% BLAS med/best", ">"), ("sk GFLOP/s", ">"), ("fn 1st fit s", ">")]
    rows = []
    for name, r in results.items():
        sk, fn, pt = r.get("sklearn"), r.get("fastnn"), r.get("torch")
        scores = [_cell(sk, "score", ".4f"), _cell(fn, "score", ".4f")]
        reps = [_cell(sk, "repeats", "d"), _cell(fn, "repeats", "d")]
        ratios = [_fmt(r[k], ".2f") + ("x" if r[k] else "") for k in ("speedup", "speedup_best")]
        row = [name + (" *" if r["quick_scaled"] else ""), str(r["n_train"]), "/".join(reps),
               _cell(sk, "median_s", ".3f"), _cell(fn, "median_s", ".3f"), "/".join(ratios)]
        if with_torch:
            scores.append(_cell(pt, "score", ".4f"))
            row += [_cell(pt, "median_s", ".3f"),
                    _fmt(r["speedup_torch"], ".2f") + ("x" if r["speedup_torch"] else "")]
        row += ["/".join(scores), f"{_cell(sk, 'n_iter', 'd')}/{_cell(fn, 'n_iter', 'd')}",
                _cell(fn, "gflops", ".1f"),
                f"{_cell(fn, 'pct_blas', '.1f')}/{_cell(fn, 'best_pct_blas', '.1f')}",
                _cell(sk, "gflops", ".1f"),
                _cell(fn, "first_fit_s", ".3f")]
        rows.append(row)
    return format_table(columns, rows)


def _mib(v):
    return _fmt(v, ".0f") + " MiB" if v is not None else "-"


def _s(v, spec=".2f"):
    return _fmt(v, spec) + " s" if v is not None else "-"


def _ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "-"


def startup_report(st):
    """The start-up section of the report."""
    n = st["runs"]
    lines = [f"Start-up (fresh processes; W1's data; a first fit's cost is first - second of two "
             f"identical fits; cold: median of {n} process(es) with an empty NUMBA_CACHE_DIR, "
             f"each running the fits in this order):"]
    errors = [r["error"] for r in st["cold_runs"] if "error" in r]
    lines += [f"  cold run error: {e}" for e in errors]
    cold = st["cold"]
    labels = (("default", "first default fit (W1)"), ("float32", "then the first float32 fit"),
              ("lbfgs", "then the first lbfgs fit"),
              ("batch_size=1", "then the first batch_size=1 fit"),
              ("read_only", "then read-only X, y, weights"))
    for step, label in labels:
        c = cold[step]
        units = c["compiled_units"]
        more = c.get("background_units")
        more = f", {_fmt(more, '.0f')} more by a helper in the background" if more else ""
        lines.append(f"  cold cache: {label:34s} +{_s(c['extra_s'])} "
                     f"({_fmt(units, '.0f')} kernel units compiled{more})")
    w = st["warm"]
    if "error" in w:
        lines.append(f"  warm cache: error: {w['error']}")
    else:
        numba = "numba imported" if w["default"].get("numba_imported") else "numba not imported"
        lines.append(f"  warm cache: first default fit +{_s(w['default']['extra_s'])} over the "
                     f"second ({numba}: the kernels load as machine code); "
                     f"read-only input +{_s(w['read_only']['extra_s'])}; "
                     f"{sum(w[k]['compiled_units'] for k, _ in labels)} units compiled")
    imp = st["import"]
    if all("error" not in imp[lib] for lib in imp):
        lines.append(f"  import, fresh interpreter (median of 3): scikit-learn's MLP "
                     f"{_s(imp['sklearn']['import_s'])}, RSS {_mib(imp['sklearn']['rss_mib'])}; "
                     f"fastnn {_s(imp['fastnn']['import_s'])}, RSS {_mib(imp['fastnn']['rss_mib'])}")
    f = st["numba_floor"]
    if "error" not in f:
        lines.append(f"  numba alone, in a process that has scikit-learn: import "
                     f"{_s(f['import_s'])} + a trivial cached function's first call "
                     f"{_s(f['first_call_s'])}, RSS +{_mib(f['rss_mib'])}")
    warm_up = st["warmup"]
    if warm_up["returncode"] != 0:
        lines.append(f"  python -m fastnn warmup FAILED (exit {warm_up['returncode']}): "
                     f"{' '.join(warm_up.get('stderr_tail', []))}; the pools below met a cache "
                     "without the prediction kernels")
    else:
        lines.append(f"  python -m fastnn warmup --jobs 2, into the warm cache (every other "
                     f"kernel): {_s(warm_up['seconds'], '.1f')}")
    pools = st["pools"]

    def wall(key):
        e = pools.get(key, {})
        return e.get("process_wall_s")

    for what, jobs, label in (("grid", 2, "GridSearchCV, n_jobs=2"),
                              ("bagging", 2, "BaggingClassifier, n_jobs=2"),
                              ("grid", 1, "GridSearchCV, n_jobs=1")):
        sk, fn = wall(f"{what}-{jobs}-sklearn"), wall(f"{what}-{jobs}-fastnn")
        lines.append(f"  fresh process, warm cache, {label:28s}: scikit-learn {_s(sk)}, "
                     f"fastnn {_s(fn)} ({_ratio(sk, fn)} faster); the pool around an "
                     f"estimator doing nothing {_s(wall(f'{what}-{jobs}-none'))}")
    one, two = (st["cold_pool"][k].get("process_wall_s") for k in ("1", "2"))
    lines.append(f"  cold cache, fastnn GridSearchCV: n_jobs=2 {_s(two)} against n_jobs=1 "
                 f"{_s(one)} ({_ratio(two, one)})")
    return "\n".join(lines)


def report(payload, args):
    lines = [header_line(payload["machine"], args), ""]
    blas = payload.get("blas", {})
    if blas:
        lines.append("numpy matmul (BLAS reference, best at start/end of run): " + ", ".join(
            f"{dt} {b['gflops']:.1f} GFLOP/s (n={b['n']})" for dt, b in blas.items()))
    info = payload["machine"]
    load, cores = info.get("load_avg_1min_at_start"), info.get("usable_cores") or 1
    if load is not None and load >= 1.0:
        lines.append(f"WARNING: the machine was busy (1-min load {load:.2f} on {cores} cores at start): "
                     "timings are unreliable, multi-threaded BLAS on small matrices most of all.")
    results = payload.get("workloads")
    if results:
        with_torch = any("torch" in r for r in results.values())
        lines += ["", workload_table(results, with_torch)]
        notes = ["speed-up = sklearn median / fastnn median, and sklearn's fastest fit / "
                 "fastnn's; GFLOP/s: training matrix-product flops (forward, weight and input "
                 "gradients) / median fit time; % BLAS: that rate, and the fastest fit's, as a "
                 "share of numpy's matmul rate in the same dtype; reps: timed fits per library; "
                 "1st fit: fastnn's warm-up fit"]
        if any(r["quick_scaled"] for r in results.values()):
            notes.append("* quick-scaled: trained on a subsample of the training set (--quick); "
                         "not comparable with full-mode rows")
        if with_torch:
            notes.append("torch: same network, init, loss, optimizer, batches and epochs (= fastnn's n_iter_); "
                         "n/a for lbfgs")
        lines += [""] + ["  " + n for n in notes]
        bounds = [(name, r) for name, r in results.items() if r.get("speedup_bound")]
        if bounds:
            lines += ["", "Speed-up bound: the matrix products alone of fastnn's epochs, at their "
                      "shapes, through the same BLAS from compiled code (the faster of BLAS's own "
                      "threads and the rows shared by the epochs' team of threads), timed in "
                      "turn with the fits; their fastest run against scikit-learn's median (no "
                      "training doing them through this BLAS is faster), and their rate as a "
                      "share of the BLAS rate (no such training reaches a higher share):"]
            for name, r in bounds:
                pct = r.get("products_pct_blas")
                share = f", {pct:.0f}% of BLAS" if pct is not None else ""
                fn = r["fastnn"]
                fn_share = (f", {fn['pct_blas']:.0f}% of BLAS; fastest {fn['min_s']:.3f} s, "
                            f"{fn['best_pct_blas']:.0f}%" if fn.get("pct_blas") is not None else "")
                earlier = r.get("products_earlier") or []
                runs = f"{len(r['products_times_s'])}"
                if earlier:
                    runs += (f" and {len(earlier)} of the same products for "
                             f"{', '.join(sorted({e[0] for e in earlier}))}")
                lines.append(f"  {name:8s} products {r['products_only_s']:.3f} s (fastest of "
                             f"{runs}{share}), fastnn "
                             f"{fn['median_s']:.3f} s (median{fn_share}), sklearn "
                             f"{r['sklearn']['median_s']:.3f} s: at most {r['speedup_bound']:.1f}x "
                             f"(measured {r['speedup']:.1f}x)")
                if r.get("speedup_bound_void"):
                    lines.append(f"  {'':8s} VOID: a fit beat every run of its own products alone, "
                                 "so the machine slowed all of those runs; rerun for this bound")
    act = payload.get("activations")
    if act:
        lines += ["", activations_report(act)]
    th = payload.get("threads")
    if th:
        lines += ["", threads_report(th)]
    st = payload.get("startup")
    if st:
        lines += ["", startup_report(st)]
    r = payload.get("rss")
    if r:
        scaled = f" (quick-scaled: {r['n_train']} rows)" if r["quick_scaled"] else f" ({r['n_train']} rows)"
        lines += ["", f"Peak RSS (VmHWM), one W3-f64 fit in a fresh process{scaled}:"]
        for lib in ("sklearn", "fastnn"):
            e = r[lib]
            if "error" in e:
                lines.append(f"  {lib:8s} error: {e['error']}")
            else:
                imports = e["rss_after_import_mib"] - e["rss_start_mib"]
                warm_up = e["rss_before_fit_mib"] - e["rss_after_data_mib"]
                lines.append(f"  {lib:8s} peak RSS {_mib(e['peak_after_fit_mib'])}, RSS before fit "
                             f"{_mib(e['rss_before_fit_mib'])} (imports {_mib(imports)}, data "
                             f"{_mib(e['data_mib'])}, warm-up fit {_mib(warm_up)}), fit adds "
                             f"{e['fit_extra_peak_mib']:.1f} MiB at peak; fit {e['fit_s']:.2f} s")
        sk, fn = r["sklearn"], r["fastnn"]
        if "error" not in sk and "error" not in fn:
            numba = "imported" if fn.get("numba_imported") else "not imported"
            lines.append(f"  fastnn over scikit-learn: peak RSS "
                         f"+{_mib(fn['peak_after_fit_mib'] - sk['peak_after_fit_mib'])}, RSS "
                         f"before the fit +{_mib(fn['rss_before_fit_mib'] - sk['rss_before_fit_mib'])}"
                         f" (numba {numba})")
    p = payload.get("predict")
    if p:
        lines += ["", f"fastnn predict, {p['rows']:,} float32 rows x 20 features, (64,) classifier, fresh process:"]
        for dt in ("float32", "float64"):
            e = p[dt]
            if "error" in e:
                lines.append(f"  model {dt}: error: {e['error']}")
            else:
                lines.append(f"  model {dt}: {e['rows_per_s'] / 1e6:.2f} M rows/s ({e['seconds']:.2f} s); "
                             f"peak beyond input ({_mib(e['input_mib'])}) + output ({_mib(e['output_mib'])}): "
                             f"{_mib(e['extra_peak_mib'])}")
    s = payload.get("scaling")
    if s:
        lines += ["", "Scaling (fit seconds; plots: scaling_n.png, scaling_width.png):"]
        for key, label in (("n_samples", "n"), ("width", "width")):
            d = s[key]
            cells = []
            for pt in d["points"]:
                x = pt["n"] if key == "n_samples" else pt["width"]
                sk = f" sk {pt['sklearn']:.2f}" if pt.get("sklearn") else ""
                cells.append(f"{label}={x}: fn {pt['fastnn']:.2f}{sk}")
            lines.append(f"  {d['description']}")
            lines.append("    " + "; ".join(cells))
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------
def parse_args(argv):
    parser = argparse.ArgumentParser(description="Benchmark fastnn against scikit-learn (and PyTorch).")
    parser.add_argument("--quick", action="store_true",
                        help="about two and a half minutes: reduced sizes, 1 repeat, no torch/predict/digits extras")
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"timed fits per library and workload (default {DEFAULT_REPEATS}, "
                             f"{QUICK_REPEATS} with --quick)")
    parser.add_argument("--only", default=None,
                        help="comma-separated workload names (" + ",".join(w.name for w in wl.WORKLOADS)
                             + ") and/or sections (" + ",".join(SECTIONS[1:]) + "); default: everything")
    torch_group = parser.add_mutually_exclusive_group()
    torch_group.add_argument("--torch", dest="torch", action="store_true", default=None,
                             help="include PyTorch (default: yes when importable, no with --quick)")
    torch_group.add_argument("--no-torch", dest="torch", action="store_false")
    parser.add_argument("--blas-threads", type=int, default=None, metavar="N",
                        help="limit BLAS/OpenMP (and torch) to N threads, here (threadpoolctl) and in "
                             "the probe processes; default: the libraries' defaults")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output directory (default: bench/results)")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.blas_threads is not None and args.blas_threads < 1:
        parser.error("--blas-threads must be at least 1")

    args.workloads = wl.select(quick=args.quick)
    args.sections = [s for s in SECTIONS if not (args.quick and s in FULL_ONLY_SECTIONS)]
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        known_w = {w.name.lower() for w in wl.WORKLOADS}
        unknown = [n for n in names if n.lower() not in known_w and n.lower() not in SECTIONS]
        if unknown:
            parser.error(f"--only: unknown name(s) {unknown}")
        picked = [n for n in names if n.lower() in known_w]
        args.workloads = wl.select(picked) if picked else []
        args.sections = [s for s in SECTIONS if s in {n.lower() for n in names}]
        if picked:
            args.sections.insert(0, "workloads")
    return args


def load_torch(args):
    if args.torch is False or (args.quick and not args.torch):
        return None
    try:
        import torch

        import torch_ref  # noqa: F401  (sets torch's thread count)
    except ImportError as exc:
        if args.torch:
            sys.exit(f"--torch: cannot import torch ({exc})")
        log("torch is not installed: no PyTorch column (pip install torch)")
        return None
    return torch


def main(argv=None):
    args = parse_args(argv)
    try:
        import fastnn
    except ImportError as exc:
        sys.exit(f"cannot import fastnn ({exc}); install it first, e.g. `pip install -e .`")
    torch_mod = load_torch(args) if "workloads" in args.sections else None
    limits = None
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        n = str(args.blas_threads)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = n  # for the probe processes
        limits = threadpool_limits(limits=args.blas_threads)  # noqa: F841  (kept for the whole run)
        if torch_mod is not None:
            torch_mod.set_num_threads(args.blas_threads)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "results.json"

    import fastnn.kernels.cpu  # noqa: F401  (loads the BLAS numba uses, for threadpoolctl)

    payload = {
        "machine": measure.machine_info(fastnn, torch_mod),
        "quick": args.quick,
        "repeats": args.repeats,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "sections": args.sections,
        "blas_threads_limit": args.blas_threads,
    }

    def save():
        payload["elapsed_s"] = time.perf_counter() - _T0
        json_path.write_text(json.dumps(payload, indent=2) + "\n")

    log("BLAS reference: numpy matmul, 2048 x 2048, best of 5 ...")
    payload["blas"] = {dt: measure.blas_rate(dt) for dt in ("float64", "float32")}
    payload["blas_at_start"] = dict(payload["blas"])

    if "workloads" in args.sections:
        payload["workloads"] = {}
        for w in args.workloads:
            log(f"{w.name}: {w.description}")
            payload["workloads"][w.name] = run_workload(w, args.quick, args.repeats, torch_mod, payload["blas"])
            save()
    if "activations" in args.sections:
        log("activations:")
        payload["activations"] = run_activations(args.quick)
        save()
    if "threads" in args.sections:
        log("threads:")
        payload["threads"] = run_threads(args.quick)
        save()
    if "startup" in args.sections:
        log("start-up:")
        payload["startup"] = run_startup(args.quick)
        save()
    if "rss" in args.sections:
        log("peak RSS:")
        payload["rss"] = run_rss(args.quick)
        save()
    if "predict" in args.sections:
        log("predict:")
        payload["predict"] = run_predict()
        save()
    if "scaling" in args.sections:
        log("scaling:")
        payload["scaling"] = run_scaling(args.quick)
        save()

    payload["machine"]["load_avg_1min_at_end"] = measure.load_average()
    if payload.get("workloads"):
        # The BLAS rate again, now that the run is over; % BLAS uses the best.
        log("BLAS reference again ...")
        payload["blas_at_end"] = {dt: measure.blas_rate(dt) for dt in ("float64", "float32")}
        payload["blas"] = {dt: max(payload["blas_at_start"][dt], payload["blas_at_end"][dt],
                                   key=lambda b: b["gflops"]) for dt in payload["blas"]}
        for r in payload["workloads"].values():
            for lib in ("sklearn", "fastnn", "torch"):
                entry = r.get(lib)
                if isinstance(entry, dict) and entry.get("gflops"):
                    _add_shares(entry, payload["blas"][r["dtype"]]["gflops"])
            if r.get("products_gflops"):
                r["products_pct_blas"] = (100.0 * r["products_gflops"]
                                          / payload["blas"][r["dtype"]]["gflops"])
    save()
    print(report(payload, args))
    print(f"\nwrote {json_path}")
    written = plots.write_plots(payload, args.out)
    if written is None:
        print("matplotlib is not installed: no plots (pip install matplotlib)")
    for path in written or []:
        print(f"wrote {path}")
    log(f"done in {time.perf_counter() - _T0:.0f} s")
    return payload


if __name__ == "__main__":
    main()
