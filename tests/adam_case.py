"""A small Adam training problem, for the tests of bench/'s copies of the
mini-batch epoch, and ``minibatch_epoch`` run on it to compare them with."""

from types import SimpleNamespace

import numpy as np

from fastnn.kernels import codes
from fastnn.kernels import cpu as K


def adam_case(task, dtype, n, rng):
    """``n`` rows of a classifier (softmax, tanh) or regressor (identity,
    relu) problem with sample weights, a 6-7-5-k network's start and its
    Adam scalars (act_param, loss_param, alpha, lr, beta1, beta2, eps) in
    ``dtype``."""
    units = np.array([6, 7, 5, 3 if task == "classifier" else 2], dtype=np.int64)
    X = rng.standard_normal((n, units[0])).astype(dtype)
    if task == "classifier":
        Y = np.eye(units[-1], dtype=dtype)[rng.integers(0, units[-1], n)]
        out_code, loss_code, hidden = codes.SOFTMAX, codes.LOG_LOSS, codes.TANH
    else:
        Y = rng.standard_normal((n, units[-1])).astype(dtype)
        out_code, loss_code, hidden = codes.IDENTITY, codes.SQUARED_ERROR, codes.RELU
    return SimpleNamespace(
        X=X, Y=Y, SW=rng.uniform(0.5, 2.0, n).astype(dtype), units=units, hidden=hidden,
        out_code=out_code, loss_code=loss_code,
        params=rng.uniform(-0.5, 0.5, K.n_params(units)).astype(dtype),
        scalars=tuple(dtype(s) for s in (0.01, 1.0, 1e-3, 1e-2, 0.9, 0.999, 1e-8)))


def fresh_state(case):
    """[params, m, v] at the case's start."""
    return [case.params.copy(), np.zeros_like(case.params), np.zeros_like(case.params)]


def minibatch_adam_epoch(state, case, order, batch, t):
    """One minibatch_epoch (Adam, no dropout) on the case; returns its
    (summed batch losses, t)."""
    act_param, loss_param, alpha, lr, b1, b2, eps = case.scalars
    empty, no_index = np.empty(0, dtype=case.X.dtype), np.empty(0, dtype=np.int64)
    return K.minibatch_epoch(
        *state, case.X, empty, no_index, no_index, False, case.Y, case.SW, order, batch,
        case.units, case.hidden, act_param, case.out_code, case.loss_code, loss_param, alpha,
        np.zeros(len(case.units) - 2), 0, codes.ADAM, lr, act_param.dtype.type(0.0), False, b1,
        b2, eps, t)
