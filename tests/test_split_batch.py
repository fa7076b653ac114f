"""bench/split_batch.py's two-worker epoch must train the model that
minibatch_epoch trains (up to the rounding of its split gradient sum), or
its timings would be of some other computation."""

import sys
from pathlib import Path

import numpy as np
import pytest

from adam_case import adam_case, fresh_state, minibatch_adam_epoch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import split_batch  # noqa: E402


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-9), (np.float32, 2e-4)],
                         ids=["f64", "f32"])
@pytest.mark.parametrize("task", ["classifier", "regressor"])
def test_split_epoch_trains_as_minibatch_epoch(task, dtype, rtol):
    rng = np.random.default_rng(1)
    n, batch = 41, 8  # a last batch of one row: the second worker gets none
    case = adam_case(task, dtype, n, rng)
    split, single = fresh_state(case), fresh_state(case)
    t_split = t_single = 0
    for epoch in range(3):
        order = rng.permutation(n).astype(np.int64)
        loss_split, t_split = split_batch.run_split(
            *split, case.X, case.Y, case.SW, order, batch, case.units, case.hidden,
            case.scalars[0], case.out_code, case.loss_code, *case.scalars[1:], t_split)
        loss_single, t_single = minibatch_adam_epoch(single, case, order, batch, t_single)
        assert t_split == t_single
        np.testing.assert_allclose(loss_split, loss_single, rtol=rtol)
        for a, b in zip(split, single):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * 1e-3)
    assert not np.array_equal(split[0], case.params)  # it trained
