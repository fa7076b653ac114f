"""bench/w2_bound.py's hand-written loop does fastnn's per-sample
arithmetic, so the time it reports is a bound for the same work."""

import sys
from pathlib import Path

import numpy as np

from fastnn.kernels import codes
from fastnn.kernels import cpu as K

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import w2_bound  # noqa: E402


def test_hand_loop_matches_sample_epoch():
    rng = np.random.RandomState(0)
    n = 200
    X = rng.standard_normal((n, w2_bound.N_IN))
    Y = np.eye(w2_bound.N_OUT)[rng.randint(0, w2_bound.N_OUT, n)]
    W1 = rng.uniform(-0.3, 0.3, (w2_bound.N_IN, w2_bound.N_HIDDEN))
    W2 = rng.uniform(-0.3, 0.3, (w2_bound.N_HIDDEN, w2_bound.N_OUT))
    b1 = rng.uniform(-0.3, 0.3, w2_bound.N_HIDDEN)
    b2 = rng.uniform(-0.3, 0.3, w2_bound.N_OUT)
    orders = np.array([rng.permutation(n) for _ in range(2)])
    params = np.concatenate([W1.ravel(), W2.ravel(), b1, b2])  # fastnn's flat layout
    units = np.array([w2_bound.N_IN, w2_bound.N_HIDDEN, w2_bound.N_OUT])

    hand = [a.copy() for a in (W1, b1, W2, b2)]
    state = [np.zeros_like(a) for a in hand]
    w2_bound.hand_epochs(X, Y, orders, *hand, *state, 0.01, 0.9, 1e-4)

    p, s1, s2 = params.copy(), np.zeros_like(params), np.zeros_like(params)
    empty, no_index = np.empty(0), np.empty(0, np.int32)
    t = 0
    for order in orders:
        _, t = K.sample_epoch(p, s1, s2, X, empty, no_index, no_index, False, Y, np.ones(n),
                              order.astype(np.int64), 1, units, codes.RELU, 0.01, codes.SOFTMAX,
                              codes.LOG_LOSS, 1.0, 1e-4, np.zeros(1), 0, codes.SGD, 0.01, 0.9,
                              True, 0.9, 0.999, 1e-8, t)
    W1h, b1h, W2h, b2h = hand
    np.testing.assert_allclose(np.concatenate([W1h.ravel(), W2h.ravel(), b1h, b2h]), p,
                               rtol=1e-12, atol=1e-13)
