"""The output-layer component (the *head*) the drivers call: the output
activation, the loss, and the loss's gradient at the output layer; and the
host functions that run it on whole arrays (twins of
``kernels.cuda.losses``).

The formulas are ``kernels.losses``' (the loss terms, their row scaling,
the deltas) and ``kernels.activations``' (the output activations); a head
compiles the one term its loss code names (``TERMS``, see ``_jit.inline``).
"""

from functools import lru_cache

import numpy as np
from numba import types

from .. import activations, codes
from .. import losses as formulas
from ._calls import as_bytes, input_bytes, named, run
from ._jit import caller, component, inline, jit
from .pointers import at, typed

softmax_row, logistic, exponential = (
    inline(f) for f in (activations.softmax_row, activations.logistic, activations.exponential))
delta_of, delta_scale, scale_row = (
    inline(f) for f in (formulas.delta_of, formulas.delta_scale, formulas.scale_row))

#: What the head component does (its first argument).
PREDICT = 0  # the output activation
TRAIN = 1  # and the loss, the output delta and the output intercept gradient
LOSS = 2  # the loss of outputs already activated
DELTA = 3  # the loss and the output delta of outputs already activated

#: The output activation each loss is paired with (its canonical link).
OUTPUT_OF_LOSS = {
    codes.SQUARED_ERROR: codes.IDENTITY,
    codes.POISSON: codes.EXP,
    codes.LOG_LOSS: codes.SOFTMAX,
    codes.BINARY_LOG_LOSS: codes.LOGISTIC,
    codes.ABSOLUTE_ERROR: codes.IDENTITY,
    codes.HUBER: codes.IDENTITY,
}
#: A loss for each output activation, for heads that only activate (in
#: prediction the loss is not used).
LOSS_OF_OUTPUT = {codes.IDENTITY: codes.SQUARED_ERROR, codes.EXP: codes.POISSON,
                  codes.SOFTMAX: codes.LOG_LOSS, codes.LOGISTIC: codes.BINARY_LOG_LOSS}

_IDENTITY, _EXP, _SOFTMAX = codes.IDENTITY, codes.EXP, codes.SOFTMAX
_ABSOLUTE_ERROR, _HUBER = codes.ABSOLUTE_ERROR, codes.HUBER

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
    term = inline(formulas.TERMS[CODE])

    def head(mode, z_ptr, b_ptr, y_ptr, sw_ptr, delta_ptr, grad_b_ptr, n, m, param, scale, beta,
             sw_sum_ptr):
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
                    softmax_row(out, i * m, m)
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


def head_spec(out_code, dtype, loss_code=None):
    """The spec (see ``_calls.run``) of the head for ``out_code`` and
    ``loss_code`` (by default the output's canonical loss: for heads that
    only activate)."""
    out_code = int(out_code)
    key = (out_code, int(LOSS_OF_OUTPUT[out_code] if loss_code is None else loss_code),
           np.dtype(dtype).type)
    return head_component, head_name, key


@jit
def head_kernel(fn, mode, z, b, y, sw, delta, grad_b, n, m, param, scale, beta, sw_sum):
    """The head component ``fn`` in ``mode`` on whole arrays (bytes);
    returns its loss (and leaves the weights' sum in ``sw_sum``, float64
    (1,))."""
    return call_head(fn, mode, at(z, 0), at(b, 0), at(y, 0), at(sw, 0), at(delta, 0),
                     at(grad_b, 0), n, m, param, scale, beta, at(sw_sum, 0))


def _head_call(mode, out_code, loss_code, z, b, y, sw, delta, scale, loss_param):
    """The head of ``out_code`` and ``loss_code`` in ``mode`` on whole
    arrays: returns its loss."""
    dtype = z.dtype.type
    n, m = z.shape
    return run(
        lambda: named(dtype, "loss kernels", loss_code=loss_code), head_kernel,
        (), [head_spec(out_code, dtype, loss_code)],
        lambda head: (head, mode, as_bytes(z), input_bytes(b),
                      input_bytes(np.asarray(y, dtype=dtype)),
                      input_bytes(np.asarray(sw, dtype=dtype)), as_bytes(delta),
                      as_bytes(z[:0]), n, m, float(loss_param), float(scale), 0.0, np.empty(1)))


def activate_output(z, b, out_code):
    """z = f(z + b) in place for the output activation ``out_code``."""
    _head_call(PREDICT, out_code, LOSS_OF_OUTPUT[out_code], z, b, z[:0], z[:0, 0], z, 0.0, 0.0)


def loss_sum(out, y, sw, loss_code, loss_param):
    """The weighted sum over rows of the loss ``loss_code`` of the network
    outputs ``out`` (n, n_outputs) for targets ``y``, weights ``sw``
    (float64; see ``head_component``)."""
    out = np.ascontiguousarray(out)
    return _head_call(LOSS, OUTPUT_OF_LOSS[int(loss_code)], loss_code, out, out[0, :0], y, sw,
                      out[:0], 1.0, loss_param)


def output_delta(delta, out, y, sw, scale, loss_code, loss_param):
    """The output layer's delta for the loss ``loss_code``, times ``scale``,
    into ``delta`` (see ``head_component``)."""
    out = np.ascontiguousarray(out)
    _head_call(DELTA, OUTPUT_OF_LOSS[int(loss_code)], loss_code, out, out[0, :0], y, sw, delta,
               scale, loss_param)
