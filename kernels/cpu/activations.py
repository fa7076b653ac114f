"""Activations, their derivatives and dropout, and the hidden-layer
component the drivers call.

In training, the forward pass of a hidden layer also writes the derivative
of its output with respect to its pre-activation into a buffer ``dz`` of
the same shape (times the dropout mask, where there is dropout), so the
backward pass is one multiplication, whatever the activation: derivatives
of ``gelu`` and ``silu`` need the pre-activation, which the activation
itself overwrites.

Each elementwise activation is a scalar function ``(x, param) -> (f(x),
f'(x))`` in x's dtype (``param``: leaky_relu's negative slope, ignored by
the others). A component picks one by its code, a compile-time constant,
in its own body, so numba drops the other activations before typing
them (see ``_jit.py``): the codes are compared with module-level
constants, which numba folds (``codes.X`` lookups it does not).
"""

import math
from functools import lru_cache

import numpy as np
from numba import types

from ..codes import ELU, GELU, IDENTITY, LEAKY_RELU, LOGISTIC, RELU, SOFTPLUS, TANH
from ..dropout import dropout_keep
from ._jit import caller, component, jit_inline
from .pointers import carray, typed

keep = jit_inline(dropout_keep)

#: What the layer component does (its first argument).
PREDICT = 0  # z = f(z + b)
TRAIN = 1  # and dz = f'(z + b), then dropout
BACKWARD = 2  # delta = delta * dz, and the intercept gradient: its column sums
BIAS = 3  # the intercept gradient alone (of the output layer, where delta is final)


@jit_inline
def _relu(x, slope):
    d = type(x)(1.0) if x > 0.0 else slope
    if x < 0.0:  # not max(): NaN must survive to be caught
        return x * slope, d
    return x, d


@jit_inline
def _logistic(x, param):
    one = type(x)(1.0)
    a = one / (one + np.exp(-x))
    return a, a * (one - a)


@jit_inline
def _tanh(x, param):
    a = np.tanh(x)
    return a, type(x)(1.0) - a * a


@jit_inline
def _elu(x, param):
    if not x > 0.0:  # NaN takes this branch and stays NaN
        a = np.expm1(x)
        return a, a + type(x)(1.0)  # e^x
    return x, type(x)(1.0)


@jit_inline
def _softplus(x, param):
    one = type(x)(1.0)
    d = one / (one + np.exp(-x))  # sigmoid(x)
    # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
    return type(x)((x if x > 0.0 else 0.0) + np.log1p(np.exp(-abs(x)))), d


@jit_inline
def _gelu(x, param):
    one = type(x)(1.0)
    half = type(x)(0.5)
    cdf = half * (one + math.erf(x * type(x)(1.0 / math.sqrt(2.0))))
    # Phi(x) + x phi(x); phi underflows to 0 far out
    d = cdf + x * (type(x)(1.0 / math.sqrt(2.0 * math.pi)) * np.exp(-half * x * x))
    return x * cdf, d


@jit_inline
def _silu(x, param):
    one = type(x)(1.0)
    s = one / (one + np.exp(-x))  # 0 or 1 far out: no overflow below
    return x * s, s * (one + x * (one - s))


@jit_inline
def dropout_forward(a, dz, rate, seed, row0, col0):
    """Inverted dropout in place: each unit is dropped (a and dz set to 0)
    with probability ``rate``, and kept ones scaled by 1 / (1 - rate).

    a, dz : (n_rows, n_units), a hidden layer's output and derivative. The
    mask of row i, unit j is ``dropout_keep(seed, row0 + i, col0 + j,
    rate)`` (see kernels/dropout.py): ``row0`` is the batch's position in
    the epoch, ``col0`` the layer's first unit among all hidden units.
    """
    scale = a.dtype.type(1.0 / (1.0 - rate))
    for i in range(a.shape[0]):
        ai = a[i]
        di = dz[i]
        for j in range(ai.shape[0]):
            if keep(seed, row0 + i, col0 + j, rate):
                ai[j] *= scale
                di[j] *= scale
            else:
                ai[j] = 0.0
                di[j] = 0.0


@jit_inline
def softmax_rows(z, b, n, m):
    """z = softmax(z + b) row by row, in place on the flat (n, m) block."""
    for i in range(n):
        row = i * m
        mx = z[row] + b[0]
        for j in range(m):
            v = z[row + j] + b[j]
            z[row + j] = v
            if v > mx:  # a NaN never wins: it reaches every output below
                mx = v
        s = 0.0
        for j in range(m):
            e = np.exp(z[row + j] - mx)
            z[row + j] = e
            s += e
        for j in range(m):
            z[row + j] /= s


LAYER_SIGNATURE = types.void(types.int64, types.voidptr, types.voidptr, types.voidptr, types.intp,
                             types.intp, types.float64, types.float64, types.int64, types.int64,
                             types.int64, types.float64)
#: ``call_layer(address, *args)``: call the layer component at ``address``.
call_layer = caller(LAYER_SIGNATURE)


def layer_name(code, dtype, dropout=False):
    """The unit name (and qualified name) of ``layer_component(code, dtype,
    dropout)``."""
    return f"layer_{int(code)}_{np.dtype(dtype).name}" + ("_dropout" if dropout else "")


@lru_cache(maxsize=None)
def layer_component(code, dtype, dropout=False):
    """The compiled hidden layer of activation ``code`` and float ``dtype``:
    ``(mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta)`` on the
    flat (n, m) blocks at the pointers ``z`` and ``dz``, ``b`` the layer's
    m intercepts (``param`` leaky_relu's negative slope):

    - PREDICT: z = f(z + b), in one pass;
    - TRAIN: that, dz = f'(z + b) in the same pass, and, for a component
      with ``dropout`` and ``rate > 0``, ``dropout_forward`` with the
      masks of ``seed`` at rows ``row0...``, units ``col0...``;
    - BACKWARD: z, the gradient at the layer's output, times dz (the
      gradient at its pre-activation), and its column sums into ``b``, the
      intercept gradient (overwritten with ``beta`` 0, added to with 1),
      in one pass;
    - BIAS: the column sums of z into ``b`` alone, as BACKWARD does them
      (``dz`` unused).

    Softmax and exp are output activations (see ``losses.head_component``).
    """
    dtype = np.dtype(dtype).type
    CODE = int(code)
    DROPOUT = bool(dropout)

    def layer(mode, z_ptr, dz_ptr, b_ptr, n, m, param, rate, seed, row0, col0, beta):
        z, dz, b = typed(z_ptr, dtype), typed(dz_ptr, dtype), typed(b_ptr, dtype)
        if mode == BACKWARD or mode == BIAS:
            derivative = mode == BACKWARD
            if beta == 0.0:
                for j in range(m):
                    b[j] = 0.0
            for i in range(n):
                row = i * m
                for j in range(m):
                    v = z[row + j]
                    if derivative:
                        v *= dz[row + j]
                        z[row + j] = v
                    b[j] += v
            return
        train = mode == TRAIN
        p = dtype(param if CODE == LEAKY_RELU else 0.0)  # relu: a slope of 0
        for i in range(n):
            row = i * m
            for j in range(m):
                if CODE == IDENTITY:
                    z[row + j] += b[j]
                    if train:
                        dz[row + j] = 1.0
                else:
                    x = z[row + j] + b[j]
                    # the choice is made here, in the component's own body,
                    # where numba drops the other branches before inlining
                    if CODE == RELU or CODE == LEAKY_RELU:
                        a, d = _relu(x, p)
                    elif CODE == LOGISTIC:
                        a, d = _logistic(x, p)
                    elif CODE == TANH:
                        a, d = _tanh(x, p)
                    elif CODE == ELU:
                        a, d = _elu(x, p)
                    elif CODE == SOFTPLUS:
                        a, d = _softplus(x, p)
                    elif CODE == GELU:
                        a, d = _gelu(x, p)
                    else:  # SILU
                        a, d = _silu(x, p)
                    z[row + j] = a
                    if train:
                        dz[row + j] = d
        if DROPOUT:
            if train and rate > 0.0:
                dropout_forward(carray(z_ptr, (n, m), dtype), carray(dz_ptr, (n, m), dtype), rate,
                                seed, row0, col0)

    return component(layer, LAYER_SIGNATURE, layer_name(CODE, dtype, DROPOUT))
