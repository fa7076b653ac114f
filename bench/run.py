"""Benchmark fastnn against scikit-learn, side by side in one run.

Usage::

    python bench/run.py [--quick] [--repeats N] [--out DIR]

For every workload in ``WORKLOADS`` the same estimator (same class name, same
parameters) is fitted with ``sklearn.neural_network`` and with ``fastnn``.
fastnn first gets one warm-up fit, so that Numba compilation is not part of
the timings; its duration is reported separately as the "first fit" time.
Then each library does ``repeats`` timed fits (``time.perf_counter``).

Reported per workload: median fit time of each library, the speed-up
``sklearn_median / fastnn_median``, the test score and ``n_iter_`` of each.
Everything (raw times included) is written to ``OUT/results.json``; when
matplotlib is available ``OUT/speedup.png`` and ``OUT/loss_curves.png`` are
written as well.  This script only measures and reports: it asserts nothing
about the timings.
"""

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import sklearn.neural_network
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

# --------------------------------------------------------------------------
# Workloads.  Each entry names a dataset (a key of DATASETS), an estimator
# class name that both libraries expose, and the constructor parameters.
# Add new rows here.
# --------------------------------------------------------------------------
WORKLOADS = [
    {
        "name": "digits-default",
        "dataset": "digits",
        "estimator": "MLPClassifier",
        "params": dict(hidden_layer_sizes=(100,), max_iter=200, random_state=0),
    },
    {
        "name": "digits-sgd-bs1",
        "dataset": "digits",
        "estimator": "MLPClassifier",
        "params": dict(
            hidden_layer_sizes=(100,),
            solver="sgd",
            batch_size=1,
            learning_rate_init=0.001,
            max_iter=5,
            tol=0,
            n_iter_no_change=5,
            random_state=0,
        ),
    },
    {
        "name": "digits-lbfgs",
        "dataset": "digits",
        "estimator": "MLPClassifier",
        "params": dict(hidden_layer_sizes=(100,), solver="lbfgs", max_iter=200, random_state=0),
    },
]

DEFAULT_REPEATS = 5
QUICK_REPEATS = 3
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
def _digits():
    return load_digits(return_X_y=True)


DATASETS = {"digits": _digits}


def prepare_data(name, _cache={}):
    """Return (X_train, X_test, y_train, y_test), standardized on the train split."""
    if name not in _cache:
        X, y = DATASETS[name]()
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        scaler = StandardScaler().fit(X_train)
        _cache[name] = (scaler.transform(X_train), scaler.transform(X_test), y_train, y_test)
    return _cache[name]


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


def machine_info(fastnn):
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
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cores": usable_cores,
        "numba_num_threads": numba_threads,
        "python": platform.python_version(),
        "versions": {
            "numpy": np.__version__,
            "numba": numba_version,
            "scikit-learn": sklearn.__version__,
            "fastnn": package_version(fastnn),
        },
    }


# --------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------
def timed_fit(cls, params, X, y):
    """Fit a fresh estimator; return (estimator, seconds)."""
    est = cls(**params)
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        start = time.perf_counter()
        est.fit(X, y)
        elapsed = time.perf_counter() - start
    return est, elapsed


def summarize(est, times, X_test, y_test):
    loss_curve = getattr(est, "loss_curve_", None)
    return {
        "times_s": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "score": float(est.score(X_test, y_test)),
        "n_iter": int(est.n_iter_),
        "loss_curve": None if loss_curve is None else [float(v) for v in loss_curve],
    }


def run_workload(workload, libraries, repeats, log):
    X_train, X_test, y_train, y_test = prepare_data(workload["dataset"])
    params = workload["params"]
    result = {
        "dataset": workload["dataset"],
        "estimator": workload["estimator"],
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
        "n_train": int(X_train.shape[0]),
        "n_test": int(X_test.shape[0]),
        "n_features": int(X_train.shape[1]),
    }
    for lib_name, module in libraries.items():
        cls = getattr(module, workload["estimator"])
        first_fit = None
        if lib_name == "fastnn":
            log(f"  {lib_name}: warm-up fit (includes compilation) ...")
            _, first_fit = timed_fit(cls, params, X_train, y_train)
        log(f"  {lib_name}: {repeats} timed fits ...")
        times = []
        for _ in range(repeats):
            est, elapsed = timed_fit(cls, params, X_train, y_train)
            times.append(elapsed)
        result[lib_name] = summarize(est, times, X_test, y_test)
        if first_fit is not None:
            result[lib_name]["first_fit_s"] = first_fit
    result["speedup"] = result["sklearn"]["median_s"] / result["fastnn"]["median_s"]
    return result


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------
def header_line(info, repeats):
    v = info["versions"]
    return (
        f"{info['date']} | {info['platform']} | {info['cpu']} | "
        f"{info['usable_cores']}/{info['cpu_count']} cores | "
        f"numpy {v['numpy']}, numba {v['numba']}, scikit-learn {v['scikit-learn']}, "
        f"fastnn {v['fastnn']} | median of {repeats} fit{'' if repeats == 1 else 's'}"
    )


def format_table(results):
    columns = [
        ("workload", "<"),
        ("sklearn s", ">"),
        ("fastnn s", ">"),
        ("speed-up x", ">"),
        ("sklearn score", ">"),
        ("fastnn score", ">"),
        ("n_iter sk/fn", ">"),
        ("fastnn 1st fit s", ">"),
    ]
    rows = []
    for name, r in results.items():
        sk, fn = r["sklearn"], r["fastnn"]
        rows.append([
            name,
            f"{sk['median_s']:.4f}",
            f"{fn['median_s']:.4f}",
            f"{r['speedup']:.2f}",
            f"{sk['score']:.4f}",
            f"{fn['score']:.4f}",
            f"{sk['n_iter']}/{fn['n_iter']}",
            f"{fn['first_fit_s']:.3f}",
        ])
    widths = [max(len(title), *(len(row[i]) for row in rows)) for i, (title, _) in enumerate(columns)]

    def fmt(cells):
        return "  ".join(f"{c:{align}{w}}" for c, (_, align), w in zip(cells, columns, widths))

    lines = [fmt([title for title, _ in columns]), fmt(["-" * w for w in widths])]
    lines += [fmt(row) for row in rows]
    return "\n".join(lines)


def write_plots(results, out_dir):
    """Write speedup.png and loss_curves.png; return the written paths (or None)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator
    except ImportError:
        print("matplotlib is not installed: skipping plots (pip install matplotlib).")
        return None

    written = []

    # Speed-up per workload, log x-axis.
    names = list(results)
    speedups = [results[n]["speedup"] for n in names]
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(names) + 1.5))
    ypos = np.arange(len(names))
    ax.barh(ypos, speedups, color=["tab:green" if s >= 1 else "tab:red" for s in speedups])
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}x"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: ""))
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(ypos, labels=names)
    ax.invert_yaxis()
    for y, s in zip(ypos, speedups):
        ax.annotate(f"{s:.2f}x", (s, y), xytext=(4, 0), textcoords="offset points", va="center",
                    bbox=dict(facecolor="white", edgecolor="none", pad=1))
    ax.set_xlabel("speed-up (sklearn median fit time / fastnn median fit time)")
    ax.set_title("fastnn vs scikit-learn")
    lo, hi = min(speedups + [1.0]), max(speedups + [1.0])
    ax.set_xlim(lo / 2, hi * 3)
    fig.tight_layout()
    path = out_dir / "speedup.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    written.append(path)

    # Loss curves of the workloads that have one (the stochastic solvers).
    with_curves = [n for n in names if results[n]["sklearn"]["loss_curve"] or results[n]["fastnn"]["loss_curve"]]
    if with_curves:
        fig, axes = plt.subplots(1, len(with_curves), figsize=(5 * len(with_curves), 4), squeeze=False)
        for ax, name in zip(axes[0], with_curves):
            for lib, style in (("sklearn", "-"), ("fastnn", "--")):
                curve = results[name][lib]["loss_curve"]
                if curve:
                    ax.plot(np.arange(1, len(curve) + 1), curve, style, marker=".", label=lib)
            ax.set_yscale("log")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(name)
            ax.set_xlabel("epoch")
            ax.set_ylabel("training loss")
            ax.legend()
        fig.tight_layout()
        path = out_dir / "loss_curves.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------
def parse_args(argv):
    parser = argparse.ArgumentParser(description="Benchmark fastnn against scikit-learn.")
    parser.add_argument("--quick", action="store_true",
                        help=f"fewer repeats ({QUICK_REPEATS}) for a fast check")
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"timed fits per library and workload (default {DEFAULT_REPEATS}, "
                             f"{QUICK_REPEATS} with --quick)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output directory (default: bench/results)")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)

    try:
        import fastnn
    except ImportError as exc:
        sys.exit(f"cannot import fastnn ({exc}); install it first, e.g. `pip install -e .`")

    libraries = {"sklearn": sklearn.neural_network, "fastnn": fastnn}
    info = machine_info(fastnn)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    results = {}
    for workload in WORKLOADS:
        log(f"{workload['name']}:")
        results[workload["name"]] = run_workload(workload, libraries, args.repeats, log)

    print(header_line(info, args.repeats))
    print(format_table(results))

    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "results.json"
    payload = {"machine": info, "quick": args.quick, "repeats": args.repeats, "workloads": results}
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {json_path}")
    for path in write_plots(results, args.out) or []:
        print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()
