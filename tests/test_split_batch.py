"""bench/split_batch.py's two-worker epoch must train the model that
minibatch_epoch trains (up to the rounding of its split gradient sum), or
its timings would be of some other computation."""

import sys
from pathlib import Path

import numpy as np
import pytest

from fastnn.kernels import codes
from fastnn.kernels import cpu as K

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import split_batch  # noqa: E402


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-9), (np.float32, 2e-4)],
                         ids=["f64", "f32"])
@pytest.mark.parametrize("task", ["classifier", "regressor"])
def test_split_epoch_trains_as_minibatch_epoch(task, dtype, rtol):
    rng = np.random.default_rng(1)
    n, batch = 41, 8  # a last batch of one row: the second worker gets none
    units = np.array([6, 7, 5, 3 if task == "classifier" else 2], dtype=np.int64)
    X = rng.standard_normal((n, units[0])).astype(dtype)
    if task == "classifier":
        Y = np.eye(units[-1], dtype=dtype)[rng.integers(0, units[-1], n)]
        out_code, loss_code, hidden = codes.SOFTMAX, codes.LOG_LOSS, codes.TANH
    else:
        Y = rng.standard_normal((n, units[-1])).astype(dtype)
        out_code, loss_code, hidden = codes.IDENTITY, codes.SQUARED_ERROR, codes.RELU
    SW = rng.uniform(0.5, 2.0, n).astype(dtype)
    params = rng.uniform(-0.5, 0.5, K.n_params(units)).astype(dtype)
    act_param, loss_param, alpha, lr, b1, b2, eps = (dtype(s) for s in
                                                     (0.01, 1.0, 1e-3, 1e-2, 0.9, 0.999, 1e-8))
    split = [params.copy(), np.zeros_like(params), np.zeros_like(params)]
    single = [params.copy(), np.zeros_like(params), np.zeros_like(params)]
    empty, no_index = np.empty(0, dtype=dtype), np.empty(0, dtype=np.int64)
    t_split = t_single = 0
    for epoch in range(3):
        order = rng.permutation(n).astype(np.int64)
        loss_split, t_split = split_batch.run_split(
            *split, X, Y, SW, order, batch, units, hidden, act_param, out_code, loss_code,
            loss_param, alpha, lr, b1, b2, eps, t_split)
        loss_single, t_single = K.minibatch_epoch(
            *single, X, empty, no_index, no_index, False, Y, SW, order, batch, units, hidden,
            act_param, out_code, loss_code, loss_param, alpha, np.zeros(len(units) - 2), 0,
            codes.ADAM, lr, dtype(0.0), False, b1, b2, eps, t_single)
        assert t_split == t_single
        np.testing.assert_allclose(loss_split, loss_single, rtol=rtol)
        for a, b in zip(split, single):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-3)
    assert not np.array_equal(split[0], params)  # it trained
