"""Activations, their derivatives and dropout, in place on ``(n_rows, n_units)``
arrays.

In training, the forward pass of a hidden layer also writes the derivative
of its output with respect to its pre-activation into a buffer ``dz`` of
the same shape (times the dropout mask, where there is dropout), so the
backward pass is one multiplication, whatever the activation: derivatives
of ``gelu`` and ``silu`` need the pre-activation, which the activation
itself overwrites.
"""

import math

import numpy as np

from .. import codes
from ..dropout import dropout_keep
from ._jit import jit

keep = jit(dropout_keep)


@jit
def activation_forward(z, dz, code, param):
    """Apply activation ``code`` to ``z`` in place; when ``dz`` has rows
    (training), also write the derivative f'(z) into it.

    z : (n_rows, n_units); dz : (n_rows, n_units) or (0, 0). ``param`` is
    leaky_relu's negative slope (of z's dtype; ignored by the others).
    """
    n, m = z.shape
    train = dz.shape[0] > 0
    one = z.dtype.type(1.0)
    # Loops run over row views (zi[j], not z[i, j]) so LLVM vectorizes them.
    if code == codes.IDENTITY:
        if train:
            dz[:] = one
    elif code == codes.LOGISTIC:
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                zi[j] = one / (one + np.exp(-zi[j]))
                if train:
                    di[j] = zi[j] * (one - zi[j])
    elif code == codes.TANH:
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                zi[j] = np.tanh(zi[j])
                if train:
                    di[j] = one - zi[j] * zi[j]
    elif code == codes.RELU or code == codes.LEAKY_RELU:
        slope = param if code == codes.LEAKY_RELU else z.dtype.type(0.0)
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                if train:
                    di[j] = one if zi[j] > 0.0 else slope
                if zi[j] < 0.0:  # not max(): NaN must survive to be caught
                    zi[j] *= slope
    elif code == codes.EXP:
        for i in range(n):
            zi = z[i]
            for j in range(m):
                zi[j] = np.exp(zi[j])
    elif code == codes.ELU:
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                if train:
                    di[j] = one
                if not zi[j] > 0.0:  # NaN takes this branch and stays NaN
                    zi[j] = np.expm1(zi[j])
                    if train:
                        di[j] = zi[j] + one  # e^z
    elif code == codes.SOFTPLUS:
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                x = zi[j]
                if train:
                    di[j] = one / (one + np.exp(-x))  # sigmoid(z)
                # log(1 + e^z) without overflow: max(z, 0) + log1p(e^-|z|)
                zi[j] = max(x, 0.0) + np.log1p(np.exp(-abs(x)))
    elif code == codes.GELU:
        half = z.dtype.type(0.5)
        inv_sqrt2 = z.dtype.type(1.0 / math.sqrt(2.0))
        inv_sqrt2pi = z.dtype.type(1.0 / math.sqrt(2.0 * math.pi))
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                x = zi[j]
                cdf = half * (one + math.erf(x * inv_sqrt2))
                if train:  # Phi(z) + z phi(z); phi underflows to 0 far out
                    di[j] = cdf + x * (inv_sqrt2pi * np.exp(-half * x * x))
                zi[j] = x * cdf
    elif code == codes.SILU:
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                x = zi[j]
                s = one / (one + np.exp(-x))  # 0 or 1 far out: no overflow below
                zi[j] = x * s
                if train:
                    di[j] = s * (one + x * (one - s))
    elif code == codes.SOFTMAX:
        for i in range(n):
            zi = z[i]
            mx = zi[0]
            for j in range(1, m):
                if zi[j] > mx:
                    mx = zi[j]
            s = 0.0
            for j in range(m):
                zi[j] = np.exp(zi[j] - mx)
                s += zi[j]
            for j in range(m):
                zi[j] /= s


@jit
def bias_activation_forward(z, dz, b, code, param):
    """z += b, then activation_forward(z, dz, code, param): what follows a
    layer's matrix product. For relu and leaky_relu both happen in one pass
    over z; other activations take a pass for the bias first.

    z : (n_rows, n_units); dz : (n_rows, n_units) or (0, 0); b : (n_units,).
    """
    n, m = z.shape
    if code == codes.RELU or code == codes.LEAKY_RELU:
        train = dz.shape[0] > 0
        one = z.dtype.type(1.0)
        slope = param if code == codes.LEAKY_RELU else z.dtype.type(0.0)
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                v = zi[j] + b[j]
                if train:
                    di[j] = one if v > 0.0 else slope
                if v < 0.0:  # not max(): NaN must survive to be caught
                    v *= slope
                zi[j] = v
        return
    for i in range(n):
        zi = z[i]
        for j in range(m):
            zi[j] += b[j]
    activation_forward(z, dz, code, param)


@jit
def activation_backward(delta, dz):
    """delta *= dz: from the gradient w.r.t. a hidden layer's output to the
    gradient w.r.t. its pre-activation, with ``dz`` as the forward pass
    wrote it. delta, dz : (n_rows, n_units)."""
    for i in range(delta.shape[0]):
        di = delta[i]
        gi = dz[i]
        for j in range(di.shape[0]):
            di[j] *= gi[j]


@jit
def activation_backward_sum(delta, dz, col_sum):
    """activation_backward(delta, dz), and ``col_sum = delta.sum(0)`` after
    it (the intercept gradient of the layer below) in the same pass.
    delta, dz : (n_rows, n_units); col_sum : (n_units,)."""
    for j in range(col_sum.shape[0]):
        col_sum[j] = 0.0
    for i in range(delta.shape[0]):
        di = delta[i]
        gi = dz[i]
        for j in range(di.shape[0]):
            v = di[j] * gi[j]
            di[j] = v
            col_sum[j] += v


@jit
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
