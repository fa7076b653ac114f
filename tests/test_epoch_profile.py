"""bench/epoch_profile.py's profiled epoch is minibatch_epoch with counters
between its phases: it must train to the same bits, or its profile would
be of some other computation."""

import sys
from pathlib import Path

import numpy as np
import pytest

from fastnn.kernels import codes
from fastnn.kernels import cpu as K

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import epoch_profile  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task", ["classifier", "regressor"])
def test_profiled_epoch_trains_as_minibatch_epoch(task, dtype):
    rng = np.random.default_rng(0)
    n, batch = 45, 8  # a short last batch
    units = np.array([6, 7, 5, 3 if task == "classifier" else 2], dtype=np.int64)
    X = rng.standard_normal((n, units[0])).astype(dtype)
    if task == "classifier":
        Y = np.eye(units[-1], dtype=dtype)[rng.integers(0, units[-1], n)]
        out_code, loss_code, hidden = codes.SOFTMAX, codes.LOG_LOSS, codes.TANH
    else:
        Y = rng.standard_normal((n, units[-1])).astype(dtype)
        out_code, loss_code, hidden = codes.IDENTITY, codes.SQUARED_ERROR, codes.RELU
    SW = rng.uniform(0.5, 2.0, n).astype(dtype)
    params = (rng.uniform(-0.5, 0.5, K.n_params(units))).astype(dtype)
    act_param, loss_param, alpha, lr, b1, b2, eps = (dtype(s) for s in
                                                     (0.01, 1.0, 1e-3, 1e-2, 0.9, 0.999, 1e-8))
    mine = [params.copy(), np.zeros_like(params), np.zeros_like(params)]
    theirs = [params.copy(), np.zeros_like(params), np.zeros_like(params)]
    ticks = np.zeros(len(epoch_profile.PHASES), dtype=np.uint64)
    empty, no_index = np.empty(0, dtype=dtype), np.empty(0, dtype=np.int32)
    t_mine = t_theirs = 0
    for epoch in range(2):
        order = rng.permutation(n).astype(np.int64)
        loss_mine, t_mine = epoch_profile.profiled_epoch(
            ticks, *mine, X, Y, SW, order, batch, units, hidden, act_param, out_code,
            loss_code, loss_param, alpha, lr, b1, b2, eps, t_mine)
        loss_theirs, t_theirs = K.minibatch_epoch(
            *theirs, X, empty, no_index, no_index, False, Y, SW, order, batch, units, hidden,
            act_param, out_code, loss_code, loss_param, alpha, np.zeros(len(units) - 2), 0,
            codes.ADAM, lr, dtype(0.0), False, b1, b2, eps, t_theirs)
        assert loss_mine == loss_theirs
        assert t_mine == t_theirs
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b)
    assert ticks.sum() > 0
