"""Output losses and deltas, and the output-layer component (the *head*)
the drivers call: the output activation, the loss, and the loss's
gradient at the output layer.

The classification losses, squared error and Poisson are paired with their
canonical output activation (see ``kernels.codes``), so their gradient
w.r.t. the output pre-activation is ``output - y``; absolute error and
Huber (identity output) have their own, divided by the number of outputs
as their losses average over outputs.

Each loss is a scalar function ``(y, p, param, eps)`` of one output's
target and prediction (float64 in and out; ``param`` Huber's threshold,
``eps`` the probability clip), which the head sums over a row and scales
(see ``head_component``); a head compiles its own loss only.
"""

from functools import lru_cache

import numpy as np
from numba import types

from ..codes import ABSOLUTE_ERROR, EXP, HUBER, IDENTITY, LOG_LOSS, POISSON, SOFTMAX, SQUARED_ERROR
from .activations import _logistic, softmax_rows
from ._jit import caller, component, jit_inline
from .pointers import typed

#: What the head component does (its first argument).
PREDICT = 0  # the output activation
TRAIN = 1  # and the loss, the output delta and the output intercept gradient
LOSS = 2  # the loss of outputs already activated
DELTA = 3  # the loss and the output delta of outputs already activated


@jit_inline
def _clip(p, eps):
    """min(max(p, eps), 1 - eps), NaN kept."""
    if p < eps:
        return eps
    if p > 1.0 - eps:
        return 1.0 - eps
    return p


@jit_inline
def _squared_error(yt, p, param, eps):
    d = yt - p
    return d * d  # halved, and averaged over outputs, by the head


@jit_inline
def _absolute_error(yt, p, param, eps):
    return abs(yt - p)


@jit_inline
def _huber(yt, p, param, eps):
    r = abs(yt - p)
    return 0.5 * r * r if r <= param else param * (r - 0.5 * param)


@jit_inline
def _poisson(yt, p, param, eps):
    term = p - yt
    if yt != 0.0:
        term += yt * np.log(yt / p)
    return term


@jit_inline
def _log_loss(yt, p, param, eps):
    if yt != 0.0:
        return 0.0 - yt * np.log(_clip(p, eps))
    return 0.0


@jit_inline
def _binary_log_loss(yt, p, param, eps):
    p = _clip(p, eps)
    term = 0.0
    if yt != 0.0:
        term -= yt * np.log(p)
    if yt != 1.0:
        term -= (1.0 - yt) * np.log(1.0 - p)
    return term


HEAD_SIGNATURE = types.float64(types.int64, types.voidptr, types.voidptr, types.voidptr,
                               types.voidptr, types.voidptr, types.voidptr, types.intp,
                               types.intp, types.float64, types.float64, types.float64,
                               types.voidptr)
#: ``call_head(address, *args)``: call the head component at ``address``.
call_head = caller(HEAD_SIGNATURE)


def head_name(out_code, loss_code, dtype):
    """The unit name (and qualified name) of ``head_component``."""
    return f"head_{int(out_code)}_{int(loss_code)}_{np.dtype(dtype).name}"


@lru_cache(maxsize=None)
def head_component(out_code, loss_code, dtype):
    """The compiled output layer of output activation ``out_code``, loss
    ``loss_code`` and float ``dtype``: ``(mode, z, b, y, sw, delta, grad_b,
    n, m, param, scale, beta, sw_sum)`` on the flat (n, m) blocks at the
    pointers ``z`` (the output layer's pre-activation, then its output),
    ``y`` (targets), ``delta``, with the n sample weights at ``sw``:

    - PREDICT: z = f(z + b), f the output activation (b the m intercepts);
      returns 0;
    - TRAIN: that; then ``delta``, the gradient of the weighted loss sum
      w.r.t. the output pre-activation times ``scale``, its column sums
      into ``grad_b`` (the output intercept gradient; overwritten with
      ``beta`` 0, added to with 1), and ``sw_sum[0]`` (a float64) the
      weights' sum; returns the weighted loss sum;
    - LOSS: the weighted loss sum of outputs ``z`` already activated;
    - DELTA: that, with ``delta`` and ``sw_sum`` as in TRAIN.

    The weighted loss sum is ``sum_i sw[i] * l_i``, as float64, where the
    per-row loss ``l_i`` sums over outputs for the classification and
    Poisson losses, and is the mean over outputs of half the squared error,
    of the absolute error, or of the Huber loss with threshold ``param``.
    Divided by the weights' sum it is scikit-learn's loss for these rows.
    Sums run in float64 whatever the dtype, and probabilities are clipped
    to [eps, 1 - eps] of the dtype. The delta is ``(out - y) * sw[:, None]
    * scale`` for the canonical-link losses (``scale`` 1 reproduces
    scikit-learn; see ``network.loss_grad`` for where it is not), with
    ``sign(out - y)`` or ``clip(out - y, -param, param)`` in place of
    ``out - y``, divided by m, for absolute error and Huber.
    """
    dtype = np.dtype(dtype).type
    OUT = int(out_code)
    CODE = int(loss_code)
    EPS = float(np.finfo(dtype).eps)
    ROBUST = CODE == ABSOLUTE_ERROR or CODE == HUBER

    def head(mode, z_ptr, b_ptr, y_ptr, sw_ptr, delta_ptr, grad_b_ptr, n, m, param, scale, beta,
             sw_sum_ptr):
        out = typed(z_ptr, dtype)
        if mode == PREDICT or mode == TRAIN:
            b = typed(b_ptr, dtype)
            if OUT == SOFTMAX:
                softmax_rows(out, b, n, m)
            else:
                zero = dtype(0.0)
                for i in range(n):
                    for j in range(m):
                        x = out[i * m + j] + b[j]
                        if OUT == IDENTITY:
                            out[i * m + j] = x
                        elif OUT == EXP:
                            out[i * m + j] = np.exp(x)
                        else:
                            out[i * m + j] = _logistic(x, zero)[0]
            if mode == PREDICT:
                return 0.0
        y, sw = typed(y_ptr, dtype), typed(sw_ptr, dtype)
        if mode == TRAIN or mode == DELTA:
            delta = typed(delta_ptr, dtype)
            cut = dtype(param)
            zero = dtype(0.0)
            w_scale = dtype(scale)
            if ROBUST:
                w_scale /= dtype(m)
            sw_sum = 0.0
            for i in range(n):
                w = sw[i] * w_scale
                sw_sum += sw[i]
                row = i * m
                for j in range(m):
                    r = out[row + j] - y[row + j]
                    if CODE == ABSOLUTE_ERROR:
                        r = w if r > zero else (-w if r < zero else zero)
                    elif CODE == HUBER:
                        r = (-cut if r < -cut else (cut if r > cut else r)) * w
                    else:
                        r *= w
                    delta[row + j] = r
            if mode == TRAIN:  # the output intercept gradient: delta's column sums
                grad_b = typed(grad_b_ptr, dtype)
                if beta == 0.0:
                    for j in range(m):
                        grad_b[j] = 0.0
                for i in range(n):
                    for j in range(m):
                        grad_b[j] += delta[i * m + j]
            typed(sw_sum_ptr, np.float64)[0] = sw_sum
        total = 0.0
        for i in range(n):
            row_loss = 0.0
            for j in range(m):
                yt = np.float64(y[i * m + j])
                p = np.float64(out[i * m + j])
                # one output's term, chosen here (see activations.py)
                if CODE == SQUARED_ERROR:
                    row_loss += _squared_error(yt, p, param, EPS)
                elif CODE == ABSOLUTE_ERROR:
                    row_loss += _absolute_error(yt, p, param, EPS)
                elif CODE == HUBER:
                    row_loss += _huber(yt, p, param, EPS)
                elif CODE == POISSON:
                    row_loss += _poisson(yt, p, param, EPS)
                elif CODE == LOG_LOSS:
                    row_loss += _log_loss(yt, p, param, EPS)
                else:
                    row_loss += _binary_log_loss(yt, p, param, EPS)
            if CODE == SQUARED_ERROR:
                row_loss *= 0.5 / m  # half the mean over outputs
            elif ROBUST:
                row_loss /= m
            total += sw[i] * row_loss
        return total

    return component(head, HEAD_SIGNATURE, head_name(OUT, CODE, dtype))
