"""The output-layer component (the *head*) the drivers call: the output
activation, the loss, and the loss's gradient at the output layer (the
host functions that run it are ``kernels.cpu.losses``).

The formulas are ``kernels.losses``' (the loss terms, their row scaling,
the deltas) and ``kernels.activations``' (the output activations); a head
compiles the one term its loss code names (``TERMS``, see ``_jit.inline``).
"""

from functools import lru_cache

import numpy as np
from numba import types

from ... import activations, codes
from ...elementary import exp
from ... import losses as formulas
from ..losses import DELTA, PREDICT, TRAIN, head_name
from ._jit import caller, component, inline, jit, wide_vectors
from .pointers import at, typed

softmax_shift, softmax_normalize, logistic, exponential = (
    inline(f) for f in (activations.softmax_shift, activations.softmax_normalize,
                        activations.logistic, activations.exponential))
delta_of, delta_scale, scale_row = (
    inline(f) for f in (formulas.delta_of, formulas.delta_scale, formulas.scale_row))


_IDENTITY, _EXP, _SOFTMAX = codes.IDENTITY, codes.EXP, codes.SOFTMAX
_ABSOLUTE_ERROR, _HUBER = codes.ABSOLUTE_ERROR, codes.HUBER

HEAD_SIGNATURE = types.float64(types.int64, types.voidptr, types.voidptr, types.voidptr,
                               types.voidptr, types.voidptr, types.voidptr, types.intp,
                               types.intp, types.float64, types.float64, types.float64,
                               types.voidptr)
#: ``call_head(address, *args)``: call the head component at ``address``.
call_head = caller(HEAD_SIGNATURE)


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
    term = inline(formulas.TERMS[CODE])

    def head(mode, z_ptr, b_ptr, y_ptr, sw_ptr, delta_ptr, grad_b_ptr, n, m, param, scale, beta,
             sw_sum_ptr):
        wide_vectors()
        out = typed(z_ptr, dtype)
        if mode == PREDICT or mode == TRAIN:
            b = typed(b_ptr, dtype)
            zero = dtype(0.0)
            for i in range(n):
                for j in range(m):
                    x = out[i * m + j] + b[j]
                    if OUT == _IDENTITY or OUT == _SOFTMAX:
                        out[i * m + j] = x
                    elif OUT == _EXP:
                        out[i * m + j] = exponential(x, zero)[0]
                    else:
                        out[i * m + j] = logistic(x, zero)[0]
                if OUT == _SOFTMAX:
                    softmax_shift(out, i * m, m)
            if OUT == _SOFTMAX:  # activations.softmax_row, a step at a time over the block:
                for k in range(n * m):  # the exps vectorize whatever m (10 classes: 8 + 2)
                    out[k] = exp(out[k])
                for i in range(n):
                    softmax_normalize(out, i * m, m)
            if mode == PREDICT:
                return 0.0
        y, sw = typed(y_ptr, dtype), typed(sw_ptr, dtype)
        if mode == TRAIN or mode == DELTA:
            delta = typed(delta_ptr, dtype)
            w_scale = delta_scale(dtype(scale), CODE, m)
            sw_sum = 0.0
            for i in range(n):
                w = sw[i] * w_scale
                sw_sum += sw[i]
                row = i * m
                for j in range(m):
                    delta[row + j] = delta_of(out[row + j] - y[row + j], CODE, param) * w
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
                row_loss += term(np.float64(y[i * m + j]), np.float64(out[i * m + j]), param, EPS)
            total += sw[i] * scale_row(row_loss, CODE, m)
        return total

    return component(head, HEAD_SIGNATURE, head_name(OUT, CODE, dtype))


@jit
def head_kernel(fn, mode, z, b, y, sw, delta, grad_b, n, m, param, scale, beta, sw_sum):
    """The head component ``fn`` in ``mode`` on whole arrays (bytes);
    returns its loss (and leaves the weights' sum in ``sw_sum``, float64
    (1,))."""
    return call_head(fn, mode, at(z, 0), at(b, 0), at(y, 0), at(sw, 0), at(delta, 0),
                     at(grad_b, 0), n, m, param, scale, beta, at(sw_sum, 0))


