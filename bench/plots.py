"""PNG plots from the benchmark's results (the ``results.json`` payload).

``write_plots(payload, out_dir)`` is called by ``run.py``; to redraw the
plots of an earlier run: ``python bench/plots.py bench/results/results.json``.
matplotlib is optional: without it nothing is drawn.
"""

import json
import sys
import textwrap
from pathlib import Path

import numpy as np

LIB_STYLE = {
    "sklearn": dict(color="tab:blue", marker="o", linestyle="-"),
    "fastnn": dict(color="tab:orange", marker="s", linestyle="--"),
    "torch": dict(color="tab:green", marker="^", linestyle=":"),
}


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _ok(entry):
    return isinstance(entry, dict) and "error" not in entry and entry.get("median_s")


def _title_suffix(payload):
    return " (--quick: reduced sizes)" if payload.get("quick") else ""


def plot_speedup(plt, payload, path):
    from matplotlib.ticker import FuncFormatter, LogLocator

    workloads = payload.get("workloads") or {}
    names = [n for n, r in workloads.items() if r.get("speedup")]
    if not names:
        return None
    series = [("sklearn / fastnn", "speedup", "tab:orange")]
    if any(workloads[n].get("speedup_torch") for n in names):
        series.append(("sklearn / torch", "speedup_torch", "tab:green"))
    height = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(names) * len(series) + 1.8))
    ypos = np.arange(len(names))
    values = []
    for k, (label, key, color) in enumerate(series):
        vals = [workloads[n].get(key) or np.nan for n in names]
        values += [v for v in vals if np.isfinite(v)]
        y = ypos - 0.4 + height * (k + 0.5)
        ax.barh(y, vals, height=height * 0.9, color=color, label=label)
        for yy, v in zip(y, vals):
            if np.isfinite(v):
                ax.annotate(f"{v:.2f}x", (v, yy), xytext=(4, 0), textcoords="offset points",
                            va="center", fontsize=8,
                            bbox=dict(facecolor="white", edgecolor="none", pad=1))
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}x"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: ""))
    ax.axvline(1.0, color="black", linewidth=0.8)
    labels = [n + (" *" if workloads[n].get("quick_scaled") else "") for n in names]
    ax.set_yticks(ypos, labels=labels)
    ax.invert_yaxis()
    lo, hi = min(values + [1.0]), max(values + [1.0])
    ax.set_xlim(lo / 2, hi * 3)
    ax.set_xlabel("speed-up: sklearn median fit time / other library's median fit time")
    ax.set_title("Speed-up over scikit-learn" + _title_suffix(payload))
    ax.legend(loc="lower right")
    if any(workloads[n].get("quick_scaled") for n in names):
        fig.text(0.01, 0.01, "* quick-scaled: training set subsampled", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_loss_curves(plt, payload, path):
    from matplotlib.ticker import MaxNLocator

    workloads = payload.get("workloads") or {}
    names = [n for n, r in workloads.items()
             if any(_ok(r.get(lib)) and r[lib].get("loss_curve") for lib in ("sklearn", "fastnn"))]
    if not names:
        return None
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.6 * nrows), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        for lib in ("sklearn", "fastnn"):
            entry = workloads[name].get(lib)
            if _ok(entry) and entry.get("loss_curve"):
                curve = entry["loss_curve"]
                style = dict(LIB_STYLE[lib], markersize=3 if len(curve) > 30 else 5)
                ax.plot(np.arange(1, len(curve) + 1), curve, label=lib, **style)
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name + (" (quick-scaled)" if workloads[name].get("quick_scaled") else ""))
        ax.set_xlabel("epoch")
        ax.set_ylabel("training loss (loss_curve_)")
        ax.legend()
    fig.suptitle("Training loss per epoch, same random_state" + _title_suffix(payload))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _wrap(text, width=70):
    return "\n".join(textwrap.wrap(text, width))


def _points(rows, key, lib):
    pts = [(r[key], r[lib]) for r in rows if r.get(lib)]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_scaling_n(plt, payload, path):
    data = payload.get("scaling", {}).get("n_samples")
    if not data or not data.get("points"):
        return None
    rows = data["points"]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for lib in ("sklearn", "fastnn"):
        x, y = _points(rows, "n", lib)
        if x:
            ax.plot(x, y, label=lib, **LIB_STYLE[lib])
    x, y = _points(rows, "n", "fastnn")
    if x:
        ref = [y[-1] * n / x[-1] for n in x]
        ax.plot(x, ref, color="gray", linewidth=0.8, linestyle=":", label="∝ n (through fastnn's last)")
    ax.set_xscale("log")
    return _finish_scaling(plt, fig, ax, path, "training rows",
                           f"Fit time vs training rows: {data['description']}", payload)


def plot_scaling_width(plt, payload, path):
    data = payload.get("scaling", {}).get("width")
    if not data or not data.get("points"):
        return None
    rows = data["points"]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for lib in ("sklearn", "fastnn"):
        x, y = _points(rows, "width", lib)
        if x:
            ax.plot(x, y, label=lib, **LIB_STYLE[lib])
    pts = [r for r in rows if r.get("fastnn")]
    if pts:
        last = pts[-1]
        ref = [last["fastnn"] * r["multiply_adds"] / last["multiply_adds"] for r in pts]
        ax.plot([r["width"] for r in pts], ref, color="gray", linewidth=0.8, linestyle=":",
                label="∝ multiply-adds (through fastnn's last)")
    ax.set_xscale("log", base=2)
    return _finish_scaling(plt, fig, ax, path, "hidden width (one hidden layer)",
                           f"Fit time vs hidden width: {data['description']}", payload)


def _finish_scaling(plt, fig, ax, path, xlabel, title, payload):
    """Log-scale fit-time axes, labels, legend; save and close."""
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fit time (s)")
    ax.set_title(_wrap(title + _title_suffix(payload)), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_plots(payload, out_dir):
    """Write the PNGs that the payload has data for; return their paths, or
    None when matplotlib is missing."""
    plt = _pyplot()
    if plt is None:
        return None
    out_dir = Path(out_dir)
    written = []
    for name, fn in (
        ("speedup.png", plot_speedup),
        ("loss_curves.png", plot_loss_curves),
        ("scaling_n.png", plot_scaling_n),
        ("scaling_width.png", plot_scaling_width),
    ):
        path = fn(plt, payload, out_dir / name)
        if path is not None:
            written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/plots.py RESULTS_JSON")
    results_path = Path(sys.argv[1])
    written = write_plots(json.loads(results_path.read_text()), results_path.parent)
    if written is None:
        sys.exit("matplotlib is not installed")
    for p in written:
        print(f"wrote {p}")
