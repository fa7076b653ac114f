"""bench/epoch_profile.py's profiled epoch is minibatch_epoch with counters
between its phases: it must train to the same bits, or its profile would
be of some other computation."""

import sys
from pathlib import Path

import numpy as np
import pytest

from adam_case import adam_case, fresh_state, minibatch_adam_epoch

from fastnn.kernels.cpu import as_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import epoch_profile  # noqa: E402


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("task", ["classifier", "regressor"])
def test_profiled_epoch_trains_as_minibatch_epoch(task, dtype):
    rng = np.random.default_rng(0)
    n, batch = 45, 8  # a short last batch
    case = adam_case(task, dtype, n, rng)
    mine, theirs = fresh_state(case), fresh_state(case)
    ticks = np.zeros(len(epoch_profile.PHASES), dtype=np.uint64)
    t_mine = t_theirs = 0
    for epoch in range(2):
        order = rng.permutation(n).astype(np.int64)
        loss_mine, t_mine = epoch_profile.profiled_epoch(
            ticks, *epoch_profile.components(dtype, case.hidden, case.out_code, case.loss_code),
            case.X.itemsize, *map(as_bytes, mine), as_bytes(case.X), as_bytes(case.Y),
            as_bytes(case.SW), order, batch, case.units, *map(float, case.scalars), t_mine)
        loss_theirs, t_theirs = minibatch_adam_epoch(theirs, case, order, batch, t_theirs)
        assert loss_mine == loss_theirs
        assert t_mine == t_theirs
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b)
    assert ticks.sum() > 0
