"""The hidden-layer component the drivers call, and dropout (the host
functions that run them are ``kernels.cpu.activations``).

In training, the forward pass of a hidden layer also writes the derivative
of its output with respect to its pre-activation into a buffer ``dz`` of
the same shape (times the dropout mask, where there is dropout), so the
backward pass is one multiplication, whatever the activation: derivatives
of ``gelu`` and ``silu`` need the pre-activation, which the activation
itself overwrites.

A layer component is compiled for one activation: it calls the scalar
function of its code (``kernels.activations.ELEMENTWISE``), taken when
the component is made (``_jit.inline``), so no other activation is typed
or compiled into it.
"""

from functools import lru_cache

import numpy as np
from numba import types

from ... import codes, dropout
from ...activations import ELEMENTWISE
from ..activations import BACKWARD, BIAS, TRAIN, layer_name
from ._jit import caller, component, inline, jit, jit_inline, wide_vectors
from .pointers import at, carray, typed

keep, dropout_scale = inline(dropout.dropout_keep), inline(dropout.dropout_scale)


_IDENTITY = codes.IDENTITY
_LEAKY_RELU = codes.LEAKY_RELU


@jit_inline
def drop_units(a, dz, rate, seed, row0, col0):
    """Inverted dropout in place: each unit is dropped (a and dz set to 0)
    with probability ``rate``, and kept ones scaled by 1 / (1 - rate).

    a, dz : (n_rows, n_units), a hidden layer's output and derivative. The
    mask of row i, unit j is ``dropout_keep(seed, row0 + i, col0 + j,
    rate)`` (see kernels/dropout.py): ``row0`` is the batch's position in
    the epoch, ``col0`` the layer's first unit among all hidden units.
    """
    scale = dropout_scale(rate, a.dtype.type(0.0))
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


LAYER_SIGNATURE = types.void(types.int64, types.voidptr, types.voidptr, types.voidptr, types.intp,
                             types.intp, types.float64, types.float64, types.int64, types.int64,
                             types.int64, types.float64)
#: ``call_layer(address, *args)``: call the layer component at ``address``.
call_layer = caller(LAYER_SIGNATURE)


@lru_cache(maxsize=None)
def layer_component(code, dtype, dropout=False):
    """The compiled hidden layer of activation ``code`` and float ``dtype``:
    ``(mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta)`` on the
    flat (n, m) blocks at the pointers ``z`` and ``dz``, ``b`` the layer's
    m intercepts (``param`` leaky_relu's negative slope):

    - PREDICT: z = f(z + b), in one pass;
    - TRAIN: that, dz = f'(z + b) in the same pass, and, for a component
      with ``dropout`` and ``rate > 0``, ``drop_units`` with the
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
    f = inline(ELEMENTWISE[CODE])

    def layer(mode, z_ptr, dz_ptr, b_ptr, n, m, param, rate, seed, row0, col0, beta):
        wide_vectors()
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
        p = dtype(param if CODE == _LEAKY_RELU else 0.0)  # relu: a slope of 0
        for i in range(n):
            row = i * m
            for j in range(m):
                if CODE == _IDENTITY:
                    z[row + j] += b[j]
                    if train:
                        dz[row + j] = 1.0
                else:
                    a, d = f(z[row + j] + b[j], p)
                    z[row + j] = a
                    if train:
                        dz[row + j] = d
        if DROPOUT:
            if train and rate > 0.0:
                drop_units(carray(z_ptr, (n, m), dtype), carray(dz_ptr, (n, m), dtype), rate,
                           seed, row0, col0)

    return component(layer, LAYER_SIGNATURE, layer_name(CODE, dtype, DROPOUT))


@jit
def layer_kernel(fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta):
    """The layer component ``fn`` in ``mode`` on whole arrays (bytes)."""
    call_layer(fn, mode, at(z, 0), at(dz, 0), at(b, 0), n, m, param, rate, seed, row0, col0, beta)


