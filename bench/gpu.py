"""The GPU section of the benchmark: fastnn on CUDA against fastnn on the CPU
and PyTorch eager on the GPU.

Usage::

    python bench/gpu.py [--quick] [--epochs N] [--rows N] [--out DIR]

Needs an NVIDIA GPU, ``pip install ".[cuda,bench]"`` and, for the PyTorch
column, a CUDA build of torch. Workloads (float32, Adam, the same
initial weights, shuffles, batches and epochs for every library):

* W3 scaled to 1,000,000 samples: ``make_classification(1_000_000, 100,
  n_informative=50, n_classes=5)``, network (256, 128), batch 256;
* a width sweep: one hidden layer of width 32 ... 1024, batch 1024, on the
  same data.

Reported: seconds per epoch for each library and the ratios, test scores,
and fastnn's GPU ``predict`` throughput in rows per second. Figures go to
``OUT/gpu_results.json`` and, with matplotlib, ``OUT/gpu_width.png``. Like
run.py, this only measures; it asserts nothing.
"""

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import measure

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
W3_HIDDEN, W3_BATCH = (256, 128), 256
WIDTHS, SWEEP_BATCH = (32, 64, 128, 256, 512, 1024), 1024
PREDICT_ROWS = 5_000_000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def data(n_samples):
    X, y = make_classification(n_samples, 100, n_informative=50, n_classes=5, random_state=0)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    scaler = StandardScaler().fit(X_tr)
    cast = lambda a: np.ascontiguousarray(scaler.transform(a), dtype=np.float32)  # noqa: E731
    return cast(X_tr), cast(X_te), y_tr, y_te


def params(hidden, batch_size, epochs):
    return dict(hidden_layer_sizes=hidden, batch_size=batch_size, max_iter=epochs, tol=0.0,
                n_iter_no_change=epochs, random_state=0)


def per_epoch(fit, epochs, repeats):
    """Median seconds per epoch of ``fit()`` over ``repeats`` runs (after one
    warm-up run, which compiles kernels and warms the GPU)."""
    fit()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model = fit()
        times.append((time.perf_counter() - t) / epochs)
    return statistics.median(times), model


def run(quick, epochs, out_dir, rows=None):
    import fastnn

    try:
        import torch_ref

        torch_ok = torch_ref.torch.cuda.is_available()
    except ImportError:
        torch_ok = False
    n = rows or (200_000 if quick else 1_000_000)
    repeats = 1 if quick else 3
    log(f"data: {n} x 100 ...")
    X_tr, X_te, y_tr, y_te = data(n)
    results = {"machine": measure.machine_info(fastnn), "rows": n, "epochs": epochs,
               "workloads": {}}

    def compare(name, p):
        row = {"params": {k: list(v) if isinstance(v, tuple) else v for k, v in p.items()}}
        for device in ("cuda", "cpu"):
            if device == "cpu" and name != "W3-1M":
                continue  # the CPU column only for W3
            log(f"{name}: fastnn {device} ...")
            make = lambda: fastnn.MLPClassifier(device=device, **p).fit(X_tr, y_tr)  # noqa: E731
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sec, model = per_epoch(make, epochs, repeats)
            row[f"fastnn_{device}_s_per_epoch"] = sec
            row[f"fastnn_{device}_score"] = model.score(X_te, y_te)
        if torch_ok:
            log(f"{name}: torch cuda ...")
            make = lambda: torch_ref.TorchMLP("MLPClassifier", p, epochs, np.float32,  # noqa: E731
                                              device="cuda").fit(X_tr, y_tr)
            sec, model = per_epoch(make, epochs, repeats)
            row["torch_cuda_s_per_epoch"] = sec
            row["torch_cuda_score"] = model.score(X_te, y_te)
            row["torch_over_fastnn"] = sec / row["fastnn_cuda_s_per_epoch"]
        results["workloads"][name] = row
        print(name, json.dumps({k: v for k, v in row.items() if k != "params"}), flush=True)

    compare("W3-1M", params(W3_HIDDEN, W3_BATCH, epochs))
    for width in WIDTHS[:3] if quick else WIDTHS:
        compare(f"width-{width}", params((width,), SWEEP_BATCH, epochs))

    log("predict throughput ...")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fastnn.MLPClassifier(device="cuda", **params(W3_HIDDEN, SWEEP_BATCH, 1)).fit(
            X_tr, y_tr)
    X_pred = np.resize(X_te, (n if quick else PREDICT_ROWS, X_te.shape[1]))
    model.predict_proba(X_pred[:1000])
    t = time.perf_counter()
    model.predict_proba(X_pred)
    results["predict_rows_per_s"] = X_pred.shape[0] / (time.perf_counter() - t)
    print(f"fastnn cuda predict: {results['predict_rows_per_s'] / 1e6:.2f} M rows/s")

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "gpu_results.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"wrote {out_dir / 'gpu_results.json'}")
    _plot(results, out_dir)


def _plot(results, out_dir):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    rows = [(int(k.split("-")[1]), v) for k, v in results["workloads"].items()
            if k.startswith("width-")]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot([w for w, _ in rows], [v["fastnn_cuda_s_per_epoch"] for _, v in rows], "o-",
            label="fastnn cuda")
    if all("torch_cuda_s_per_epoch" in v for _, v in rows):
        ax.plot([w for w, _ in rows], [v["torch_cuda_s_per_epoch"] for _, v in rows], "s--",
                label="PyTorch eager (cuda)")
    ax.set(xscale="log", yscale="log", xlabel="hidden width (one layer, batch 1024)",
           ylabel="seconds per epoch", title=f"{results['rows']} rows x 100 features, float32, Adam")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "gpu_width.png", dpi=120)
    print(f"wrote {out_dir / 'gpu_width.png'}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="200k rows, 3 widths, 1 repeat")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rows", type=int, default=None,
                    help="generated rows (default 1,000,000; 200,000 with --quick)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    try:
        from numba import cuda

        ok = cuda.is_available()
    except ImportError:
        ok = False
    if not ok:
        sys.exit("no CUDA device: the GPU benchmark needs an NVIDIA GPU and "
                 "pip install '.[cuda]'")
    run(args.quick, args.epochs, args.out, args.rows)


if __name__ == "__main__":
    main()
