"""Measurements that need a fresh Python process; ``run.py`` starts them
through ``measure.run_probe``. Each prints one JSON object as its last
line of stdout.

    python bench/probes.py first-fits
        Import fastnn, then fit pairs of identical models on W1's data
        (digits): the defaults (W1), float32 X, lbfgs, batch_size=1 (2
        epochs), then the defaults on read-only X, y and sample weights.
        Each pair's first - second fit is what its first fit cost beyond
        the fit itself (compiling, or loading kernels from the cache; on a
        cold cache the first fit of all imports numba too, which a warm
        one never does), with the kernel units it compiled and whether
        numba was imported; between a pair's fits it waits for any
        compile the first left to a helper process (the batch_size=1
        fit's driver made for its network's shape), and reports its units
        (``background_units``). Run with NUMBA_CACHE_DIR set to an
        empty directory the first fits compile; run again with the same
        directory they load.

    python bench/probes.py pool --lib {sklearn,fastnn,none} --what {grid,bagging} --jobs N
        A fresh process fitting, on digits, GridSearchCV(MLPClassifier(),
        alpha x hidden_layer_sizes, cv=3) or BaggingClassifier(
        MLPClassifier(), 10 estimators) with n_jobs=N (fresh workers), and
        its time (the process's wall time, imports included, is what
        run_probe measures around it). ``none``: the same pool around a
        DummyClassifier (a grid of four strategies): what the pool itself
        costs, scikit-learn's MLP imported as in the others.

    python bench/probes.py numba-floor
        What numba alone costs a process that has scikit-learn: the RSS
        and time of importing numba and calling a trivial cached function
        (its cache in NUMBA_CACHE_DIR, made by a first run).

    python bench/probes.py rss-fit --lib {sklearn,fastnn} --data DIR --estimator NAME --params JSON
        Load DIR/X.npy and DIR/y.npy, do a 1-epoch warm-up fit on 256 rows
        (imports, kernel loading), then fit once and report the RSS just
        before the fit and the peak RSS after it (Linux: VmHWM, because a
        subprocess's ru_maxrss starts at its parent's peak; ru_maxrss is
        recorded too).

    python bench/probes.py predict --rows N --model-dtype {float32,float64}
        Fit a small fastnn MLPClassifier on 20-feature data (W2's generator)
        in the given dtype, then predict N float32 rows; report the time and
        the peak RSS beyond the input and output arrays.
"""

import argparse
import gc
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from measure import MIB, current_rss, peak_rss, ru_maxrss


def _fit(est, X, y, sample_weight=None):
    """Fit; return the wall time and the main thread's CPU time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        start, start_cpu = time.perf_counter(), time.thread_time()
        est.fit(X, y, sample_weight=sample_weight)
        return time.perf_counter() - start, time.thread_time() - start_cpu


def _compiled_units():
    """How many kernel units this process compiled (none before the first
    fit imports the kernels)."""
    cache = sys.modules.get("fastnn.kernels.cpu._cache")
    return len(cache.compiled_units()) if cache else 0


def probe_first_fits(args):
    start = time.perf_counter()
    import fastnn

    import_s = time.perf_counter() - start
    from workloads import WORKLOADS_BY_NAME, workload_data

    w1 = WORKLOADS_BY_NAME["W1"]
    X, _, y, _ = workload_data(w1)
    sw = np.ones(len(y))
    steps = [("default", {}, X), ("float32", {}, X.astype(np.float32)),
             ("lbfgs", {"solver": "lbfgs"}, X), ("batch_size=1", {"batch_size": 1, "max_iter": 2}, X)]
    out = {"import_s": import_s}
    for name, params, data in steps:
        make = fastnn.MLPClassifier(**dict(w1.params, **params))
        before = _compiled_units()
        first = _fit(make, data, y)[0]
        compiled = _compiled_units() - before
        # A batch_size=1 fit leaves the driver made for its network's shape
        # to a helper process: waited for here, so that no fit shares the
        # machine with it.
        background = sys.modules["fastnn.kernels.cpu._cache"].finish_background()
        second = _fit(make, data, y)[0]
        out[name] = {"first_s": first, "second_s": second, "extra_s": first - second,
                     "compiled_units": compiled, "numba_imported": "numba" in sys.modules,
                     "background_units": background}
    frozen = [a.copy() for a in (X, y, sw)]
    for a in frozen:
        a.flags.writeable = False
    writable = _fit(fastnn.MLPClassifier(**w1.params), X, y, sw)[0]
    before = _compiled_units()
    read_only = _fit(fastnn.MLPClassifier(**w1.params), *frozen)[0]
    out["read_only"] = {"first_s": read_only, "writable_s": writable,
                        "extra_s": read_only - writable,
                        "compiled_units": _compiled_units() - before}
    out["cache_dir"] = sys.modules["fastnn.kernels.cpu._cache"].cache_dir()
    return out


def probe_pool(args):
    from sklearn.datasets import load_digits
    from sklearn.ensemble import BaggingClassifier
    from sklearn.model_selection import GridSearchCV

    import sklearn.neural_network

    X, y = load_digits(return_X_y=True)
    X = X / 16
    grid = {"alpha": [1e-4, 1e-2], "hidden_layer_sizes": [(50,), (100,)]}
    if args.lib == "fastnn":
        from fastnn import MLPClassifier
    elif args.lib == "sklearn":
        MLPClassifier = sklearn.neural_network.MLPClassifier
    else:  # the pool's own cost: the same search of an estimator that does nothing
        from sklearn.dummy import DummyClassifier

        def MLPClassifier(random_state):
            return DummyClassifier(random_state=random_state)

        grid = {"strategy": ["prior", "most_frequent", "stratified", "uniform"]}
    if args.what == "grid":
        est = GridSearchCV(MLPClassifier(random_state=0), grid, cv=3, n_jobs=args.jobs)
    else:
        est = BaggingClassifier(MLPClassifier(random_state=0), n_estimators=10, random_state=0,
                                n_jobs=args.jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        fit_start = time.perf_counter()
        est.fit(X, y)
    return {"lib": args.lib, "what": args.what, "jobs": args.jobs,
            "fit_s": time.perf_counter() - fit_start}


def probe_numba_floor(args):
    import sklearn.neural_network  # noqa: F401

    rss_start = current_rss()
    start = time.perf_counter()
    from floor_kernel import trivial

    imported = time.perf_counter()
    trivial(np.ones(3))
    end = time.perf_counter()
    return {"import_s": imported - start, "first_call_s": end - imported,
            "rss_mib": (current_rss() - rss_start) / MIB}


def probe_rss_fit(args):
    rss_start = current_rss()
    if args.lib == "fastnn":
        import fastnn as lib
    else:
        import sklearn.neural_network as lib
    rss_import = current_rss()
    X = np.load(f"{args.data}/X.npy")
    y = np.load(f"{args.data}/y.npy")
    rss_data = current_rss()
    cls = getattr(lib, args.estimator)
    params = json.loads(args.params)
    if "hidden_layer_sizes" in params:
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    # Warm-up: imports done lazily inside fit, fastnn's kernels loaded.
    warm = dict(params, max_iter=1, n_iter_no_change=1)
    _fit(cls(**warm), X[:256], y[:256])
    gc.collect()
    rss_before = current_rss()
    peak_before = peak_rss()
    fit_s = _fit(cls(**params), X, y)[0]
    peak_after = peak_rss()
    return {
        "lib": args.lib,
        "n_rows": int(X.shape[0]),
        "data_mib": (X.nbytes + y.nbytes) / MIB,
        "rss_start_mib": rss_start / MIB,
        "rss_after_import_mib": rss_import / MIB,
        "rss_after_data_mib": rss_data / MIB,
        "rss_before_fit_mib": rss_before / MIB,
        "peak_before_fit_mib": peak_before / MIB,
        "peak_after_fit_mib": peak_after / MIB,
        "fit_extra_peak_mib": (peak_after - rss_before) / MIB,
        "ru_maxrss_after_fit_mib": ru_maxrss() / MIB,
        "fit_s": fit_s,
        "numba_imported": "numba" in sys.modules,
    }


def probe_predict(args):
    import fastnn
    from sklearn.datasets import make_classification
    from sklearn.preprocessing import StandardScaler

    dtype = np.dtype(args.model_dtype)
    X, y = make_classification(20_000, 20, n_informative=10, n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X).astype(dtype)
    est = fastnn.MLPClassifier(hidden_layer_sizes=(64,), max_iter=10, tol=0.0,
                               n_iter_no_change=10, random_state=0)
    _fit(est, X, y)
    del X, y
    rng = np.random.default_rng(0)
    est.predict(rng.standard_normal((1000, 20), dtype=np.float32))  # warm-up
    gc.collect()
    rss_before_input = current_rss()
    X_big = rng.standard_normal((args.rows, 20), dtype=np.float32)
    gc.collect()
    rss_before = current_rss()
    peak_before = peak_rss()
    start = time.perf_counter()
    pred = est.predict(X_big)
    seconds = time.perf_counter() - start
    peak_after = peak_rss()
    return {
        "rows": args.rows,
        "model_dtype": str(dtype),
        "coefs_dtype": str(est.coefs_[0].dtype),
        "input_mib": X_big.nbytes / MIB,
        "output_mib": pred.nbytes / MIB,
        "rss_before_input_mib": rss_before_input / MIB,
        "rss_before_predict_mib": rss_before / MIB,
        "peak_before_predict_mib": peak_before / MIB,
        "peak_after_predict_mib": peak_after / MIB,
        # Peak during predict beyond what was resident (input included) and
        # the returned labels.
        "extra_peak_mib": (peak_after - rss_before - pred.nbytes) / MIB,
        "ru_maxrss_after_predict_mib": ru_maxrss() / MIB,
        "seconds": seconds,
        "rows_per_s": args.rows / seconds,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="probe", required=True)
    sub.add_parser("first-fits")
    p = sub.add_parser("pool")
    p.add_argument("--lib", choices=["sklearn", "fastnn", "none"], required=True)
    p.add_argument("--what", choices=["grid", "bagging"], required=True)
    p.add_argument("--jobs", type=int, default=2)
    sub.add_parser("numba-floor")
    p = sub.add_parser("rss-fit")
    p.add_argument("--lib", choices=["sklearn", "fastnn"], required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--estimator", required=True)
    p.add_argument("--params", required=True)
    p = sub.add_parser("predict")
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--model-dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args(argv)
    probe = {"first-fits": probe_first_fits, "pool": probe_pool,
             "numba-floor": probe_numba_floor, "rss-fit": probe_rss_fit,
             "predict": probe_predict}[args.probe]
    result = probe(args)
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
