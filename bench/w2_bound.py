"""How fast W2's per-sample step can be on this machine.

Usage::

    python bench/w2_bound.py [--repeats N] [--out DIR]

W2 (run.py) trains a 20-64-3 network with ``batch_size=1``: 75,000 SGD
steps with Nesterov momentum. This script times, in one process, the W2
fit of scikit-learn and of fastnn, and ``hand_epochs``: a loop written by
hand for exactly this network, with its shapes fixed at compile time so
that Numba can unroll and vectorize every loop. It is not general (no
other shape, activation, loss, sample weights or dropout, and it skips
the L2 term of the reported loss), so it is the fastest such a step gets
with Numba here, not something fastnn can ship. Its arithmetic is
fastnn's: from the same start and row order it reaches the same weights
(tests/test_w2_bound.py). Its own initialization and shuffles differ, so
its test accuracy, printed next to the others, differs a little.

Reported: microseconds per step for each, and the speed-up over
scikit-learn that the hand loop would give (the most a per-sample kernel
like fastnn's could reach on this machine). Figures also go to
``OUT/w2_bound.json``. Like run.py, it measures and asserts nothing.
"""

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from numba import njit

import measure
import workloads as wl

N_IN, N_HIDDEN, N_OUT = 20, 64, 3  # W2's network
EPS = np.finfo(np.float64).eps  # log-loss clipping, as scikit-learn


@njit(error_model="numpy", nogil=True)
def hand_epochs(X, Y, orders, W1, b1, W2, b2, V1, vb1, V2, vb2, lr, momentum, alpha):
    """Train in place: one epoch per row of ``orders``; returns the summed
    log loss (without the L2 term)."""
    h = np.empty(N_HIDDEN)
    dh = np.empty(N_HIDDEN)
    o = np.empty(N_OUT)
    do = np.empty(N_OUT)
    total = 0.0
    for e in range(orders.shape[0]):
        for r in range(orders.shape[1]):
            i = orders[e, r]
            for j in range(N_HIDDEN):
                h[j] = b1[j]
            for k in range(N_IN):
                xk = X[i, k]
                for j in range(N_HIDDEN):
                    h[j] += xk * W1[k, j]
            for j in range(N_HIDDEN):
                h[j] = max(h[j], 0.0)
            for j in range(N_OUT):
                o[j] = b2[j]
            for k in range(N_HIDDEN):
                for j in range(N_OUT):
                    o[j] += h[k] * W2[k, j]
            m = o[0]
            for j in range(1, N_OUT):
                m = max(m, o[j])
            s = 0.0
            for j in range(N_OUT):
                o[j] = np.exp(o[j] - m)
                s += o[j]
            for j in range(N_OUT):
                p = o[j] / s
                total -= Y[i, j] * np.log(min(max(p, EPS), 1.0 - EPS))
                do[j] = p - Y[i, j]
            for k in range(N_HIDDEN):  # backpropagate through the old weights
                acc = 0.0
                for j in range(N_OUT):
                    acc += do[j] * W2[k, j]
                dh[k] = acc if h[k] > 0.0 else 0.0
            for k in range(N_HIDDEN):  # Nesterov steps, gradient formed on the fly
                for j in range(N_OUT):
                    g = h[k] * do[j] + alpha * W2[k, j]
                    v = momentum * V2[k, j] - lr * g
                    V2[k, j] = v
                    W2[k, j] += momentum * v - lr * g
            for j in range(N_OUT):
                v = momentum * vb2[j] - lr * do[j]
                vb2[j] = v
                b2[j] += momentum * v - lr * do[j]
            for k in range(N_IN):
                xk = X[i, k]
                for j in range(N_HIDDEN):
                    g = xk * dh[j] + alpha * W1[k, j]
                    v = momentum * V1[k, j] - lr * g
                    V1[k, j] = v
                    W1[k, j] += momentum * v - lr * g
            for j in range(N_HIDDEN):
                v = momentum * vb1[j] - lr * dh[j]
                vb1[j] = v
                b1[j] += momentum * v - lr * dh[j]
    return total


def hand_fit(X, y, n_epochs, seed, params):
    """The hand loop on W2: scikit-learn's Glorot-uniform initialization
    and a fresh shuffle per epoch. Returns (seconds, predict function)."""
    rng = np.random.RandomState(seed)
    bound = lambda a, b: np.sqrt(6.0 / (a + b))  # noqa: E731  (relu's Glorot bound)
    W1 = rng.uniform(-bound(N_IN, N_HIDDEN), bound(N_IN, N_HIDDEN), (N_IN, N_HIDDEN))
    b1 = rng.uniform(-bound(N_IN, N_HIDDEN), bound(N_IN, N_HIDDEN), N_HIDDEN)
    W2 = rng.uniform(-bound(N_HIDDEN, N_OUT), bound(N_HIDDEN, N_OUT), (N_HIDDEN, N_OUT))
    b2 = rng.uniform(-bound(N_HIDDEN, N_OUT), bound(N_HIDDEN, N_OUT), N_OUT)
    state = [np.zeros_like(a) for a in (W1, b1, W2, b2)]
    Y = np.eye(N_OUT)[y]
    orders = np.array([rng.permutation(X.shape[0]) for _ in range(n_epochs)])
    t = time.perf_counter()
    hand_epochs(X, Y, orders, W1, b1, W2, b2, *state, params["learning_rate_init"],
                params.get("momentum", 0.9), params.get("alpha", 1e-4))
    seconds = time.perf_counter() - t
    return seconds, lambda Xt: np.argmax(np.maximum(Xt @ W1 + b1, 0.0) @ W2 + b2, axis=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="fastnn and hand-loop fits")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = ap.parse_args(argv)
    import fastnn
    import sklearn.neural_network

    w = next(w for w in wl.WORKLOADS if w.name == "W2")
    X_tr, X_te, y_tr, y_te = wl.workload_data(w, quick=False)
    assert X_tr.shape[1] == N_IN and len(np.unique(y_tr)) == N_OUT
    n_epochs = w.params["max_iter"]
    steps = n_epochs * X_tr.shape[0]

    hand_fit(X_tr[:10], y_tr[:10], 1, 0, w.params)  # compile
    measure.timed_fit(lambda: fastnn.MLPClassifier(**dict(w.params, max_iter=1)), X_tr[:10],
                      y_tr[:10])
    times = {"fastnn": [], "hand loop": []}
    scores = {}
    for rep in range(args.repeats):  # alternating, so both see the same machine
        est, sec = measure.timed_fit(lambda: fastnn.MLPClassifier(**w.params), X_tr, y_tr)
        times["fastnn"].append(sec)
        scores["fastnn"] = est.score(X_te, y_te)
        sec, predict = hand_fit(X_tr, y_tr, n_epochs, rep, w.params)
        times["hand loop"].append(sec)
        scores["hand loop"] = float(np.mean(predict(X_te) == y_te))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est, sec = measure.timed_fit(lambda: sklearn.neural_network.MLPClassifier(**w.params),
                                     X_tr, y_tr)
    times["scikit-learn"] = [sec]
    scores["scikit-learn"] = est.score(X_te, y_te)

    sk = times["scikit-learn"][0]
    result = {"machine": measure.machine_info(fastnn), "steps": steps, "libraries": {}}
    print(f"W2: {steps} steps of a {N_IN}-{N_HIDDEN}-{N_OUT} network (min of {args.repeats})")
    print(f"{'':14s} {'fit s':>8s} {'us/step':>8s} {'vs sklearn':>10s} {'test acc':>9s}")
    for name in ("scikit-learn", "fastnn", "hand loop"):
        best = min(times[name])
        row = {"seconds": best, "median_seconds": statistics.median(times[name]),
               "us_per_step": best / steps * 1e6, "speedup_vs_sklearn": sk / best,
               "test_accuracy": scores[name]}
        result["libraries"][name] = row
        print(f"{name:14s} {best:8.3f} {row['us_per_step']:8.2f} "
              f"{row['speedup_vs_sklearn']:9.0f}x {scores[name]:9.4f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "w2_bound.json").write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out / 'w2_bound.json'}")


if __name__ == "__main__":
    main()
