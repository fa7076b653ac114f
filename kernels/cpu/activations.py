"""The hidden-layer component the drivers call, dropout, and the host
functions that run them on whole arrays (twins of
``kernels.cuda.activations``).

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

from .. import codes, dropout
from ..activations import ELEMENTWISE
from ._calls import as_bytes, input_bytes, named, run
from ._jit import caller, component, inline, jit, jit_inline
from .pointers import at, carray, typed

keep, dropout_scale = inline(dropout.dropout_keep), inline(dropout.dropout_scale)

#: What the layer component does (its first argument).
PREDICT = 0  # z = f(z + b)
TRAIN = 1  # and dz = f'(z + b), then dropout
BACKWARD = 2  # delta = delta * dz, and the intercept gradient: its column sums
BIAS = 3  # the intercept gradient alone (of the output layer, where delta is final)

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


def layer_spec(code, dtype, drop=None):
    """The spec (see ``_calls.run``) of the layer component for ``code``,
    ``dtype`` and the dropout rates ``drop`` (none, or all 0: no dropout
    code)."""
    key = (int(code), np.dtype(dtype).type, bool(drop is not None and drop.any()))
    return layer_component, layer_name, key


@jit
def layer_kernel(fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta):
    """The layer component ``fn`` in ``mode`` on whole arrays (bytes)."""
    call_layer(fn, mode, at(z, 0), at(dz, 0), at(b, 0), n, m, param, rate, seed, row0, col0, beta)


def _layer_call(mode, code, z, dz, b, param, rate=0.0, seed=0, row0=0, col0=0):
    n, m = z.shape
    drop = np.array([rate])
    run(lambda: named(z.dtype, "layer kernels"), layer_kernel, (),
        [layer_spec(code, z.dtype, drop)],
        lambda hidden: (hidden, mode, as_bytes(z), as_bytes(dz), input_bytes(b), n, m,
                        float(param), float(rate), int(seed), int(row0), int(col0), 0.0))


def bias_activation_forward(z, dz, b, code, param):
    """z = f(z + b) in place for the activation ``code``, and f'(z + b)
    into ``dz`` when it has rows (softmax and exp, output activations:
    through the head, without ``dz``). z : (n_rows, n_units)."""
    if code in (codes.SOFTMAX, codes.EXP):
        from .losses import activate_output

        activate_output(z, b, code)
        return
    train = dz.shape[0] > 0
    _layer_call(TRAIN if train else PREDICT, code, z, dz if train else z, b, param)


def activation_forward(z, dz, code, param):
    """Apply activation ``code`` to z (n_rows, n_units) in place; write
    f'(z) into dz when it has rows (training). ``param``: leaky_relu's
    negative slope."""
    bias_activation_forward(z, dz, np.zeros(z.shape[1], dtype=z.dtype), code, param)


def activation_backward(delta, dz):
    """delta *= dz, with dz as the training forward pass wrote it."""
    delta *= dz


def activation_backward_sum(delta, dz, col_sum):
    """delta *= dz, and ``col_sum = delta.sum(0)`` after it, in one pass: the
    backward pass below a hidden layer, the layer's intercept gradient
    with it. delta, dz : (n_rows, n_units); col_sum : (n_units,)."""
    _layer_call(BACKWARD, codes.IDENTITY, delta, dz, col_sum, 0.0)


def dropout_forward(a, dz, rate, seed, row0, col0):
    """Inverted dropout in place on a hidden layer's output a (n_rows,
    n_units) and derivative dz, as a training layer applies it (see
    ``drop_units``): through the identity layer, whose derivative of 1
    becomes the mask times 1 / (1 - rate)."""
    mask = np.ones_like(a)
    _layer_call(TRAIN, codes.IDENTITY, a, mask, np.zeros(a.shape[1], dtype=a.dtype), 0.0, rate,
                seed, row0, col0)
    dz *= mask
