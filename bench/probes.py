"""Measurements that need a fresh Python process; ``run.py`` starts them
through ``measure.run_probe``. Each prints one JSON object as its last
line of stdout.

    python bench/probes.py compile
        Import fastnn, then time two identical W1 fits (digits, defaults).
        Run with NUMBA_CACHE_DIR set to an empty directory the first fit
        compiles every kernel it needs; run again with the same directory
        it loads them from the cache. Either way first - second is the
        one-off cost, in wall time and in the main thread's CPU time
        (compiling runs there; CPU time leaves out the time a busy
        virtual machine gives to others).

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


def _fit(est, X, y):
    """Fit; return the wall time and the main thread's CPU time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        start, start_cpu = time.perf_counter(), time.thread_time()
        est.fit(X, y)
        return time.perf_counter() - start, time.thread_time() - start_cpu


def probe_compile(args):
    start = time.perf_counter()
    import fastnn

    import_s = time.perf_counter() - start
    from workloads import WORKLOADS_BY_NAME, workload_data

    w1 = WORKLOADS_BY_NAME["W1"]
    X_train, _, y_train, _ = workload_data(w1)
    first, first_cpu = _fit(fastnn.MLPClassifier(**w1.params), X_train, y_train)
    second, second_cpu = _fit(fastnn.MLPClassifier(**w1.params), X_train, y_train)
    return {"import_s": import_s, "first_fit_s": first, "second_fit_s": second,
            "one_off_s": first - second, "one_off_cpu_s": first_cpu - second_cpu}


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
    sub.add_parser("compile")
    p = sub.add_parser("rss-fit")
    p.add_argument("--lib", choices=["sklearn", "fastnn"], required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--estimator", required=True)
    p.add_argument("--params", required=True)
    p = sub.add_parser("predict")
    p.add_argument("--rows", type=int, default=5_000_000)
    p.add_argument("--model-dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args(argv)
    probe = {"compile": probe_compile, "rss-fit": probe_rss_fit, "predict": probe_predict}[args.probe]
    result = probe(args)
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
