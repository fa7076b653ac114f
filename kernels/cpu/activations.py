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
from ._jit import jit, jit_inner, jit_scalar

keep = jit_inner(dropout_keep)


@jit_scalar
def activate(x, code, param):
    """(f(x), f'(x)) of the elementwise activation ``code`` other than
    identity, relu, leaky_relu and softmax (see bias_activation_forward),
    in x's dtype. exp's derivative is not needed (an output activation)
    and is returned as 1."""
    one = type(x)(1.0)
    a = x
    d = one
    if code == codes.LOGISTIC:
        a = one / (one + np.exp(-x))
        d = a * (one - a)
    elif code == codes.TANH:
        a = np.tanh(x)
        d = one - a * a
    elif code == codes.EXP:
        a = np.exp(x)
    elif code == codes.ELU:
        if not x > 0.0:  # NaN takes this branch and stays NaN
            a = np.expm1(x)
            d = a + one  # e^x
    elif code == codes.SOFTPLUS:
        d = one / (one + np.exp(-x))  # sigmoid(x)
        # log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
        a = type(x)(max(x, 0.0) + np.log1p(np.exp(-abs(x))))
    elif code == codes.GELU:
        half = type(x)(0.5)
        cdf = half * (one + math.erf(x * type(x)(1.0 / math.sqrt(2.0))))
        # Phi(x) + x phi(x); phi underflows to 0 far out
        d = cdf + x * (type(x)(1.0 / math.sqrt(2.0 * math.pi)) * np.exp(-half * x * x))
        a = x * cdf
    elif code == codes.SILU:
        s = one / (one + np.exp(-x))  # 0 or 1 far out: no overflow below
        a = x * s
        d = s * (one + x * (one - s))
    return a, d


@jit
def bias_activation_forward(z, dz, b, code, param):
    """z = f(z + b) in place, f the activation ``code``: what follows a
    layer's matrix product, in one pass over z. When ``dz`` has rows
    (training), also write the derivative f'(z + b) into it.

    z : (n_rows, n_units); dz : (n_rows, n_units) or (0, 0); b : (n_units,).
    ``param`` is leaky_relu's negative slope (of z's dtype; ignored by the
    others).
    """
    n, m = z.shape
    train = dz.shape[0] > 0
    one = z.dtype.type(1.0)
    # Loops run over row views (zi[j], not z[i, j]) so LLVM vectorizes them.
    if code == codes.SOFTMAX:
        for i in range(n):
            zi = z[i]
            for j in range(m):
                zi[j] += b[j]
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
    elif code == codes.IDENTITY or code == codes.RELU or code == codes.LEAKY_RELU:
        # Piecewise linear, vectorized: identity is a slope of 1 below 0.
        slope = (param if code == codes.LEAKY_RELU else
                 one if code == codes.IDENTITY else z.dtype.type(0.0))
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                x = zi[j] + b[j]
                if train:
                    di[j] = one if x > 0.0 else slope
                if x < 0.0:  # not max(): NaN must survive to be caught
                    x *= slope
                zi[j] = x
    else:  # activate() per element, inlined (see _jit.jit_scalar)
        for i in range(n):
            zi = z[i]
            di = dz[i] if train else zi
            for j in range(m):
                a, d = activate(zi[j] + b[j], code, param)
                zi[j] = a
                if train:
                    di[j] = d


@jit
def activation_forward(z, dz, code, param):
    """bias_activation_forward without a bias: z = f(z) in place, and f'(z)
    into ``dz`` when it has rows. The passes always have a bias; this is
    the twin of the CUDA kernel of the same name.

    z : (n_rows, n_units); dz : (n_rows, n_units) or (0, 0).
    """
    bias_activation_forward(z, dz, np.zeros(z.shape[1], dtype=z.dtype), code, param)


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
