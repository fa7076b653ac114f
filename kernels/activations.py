"""Activations and their derivatives, one formula for both devices.

Each elementwise activation is a scalar function ``(x, param) -> (f(x),
f'(x))`` computed in x's dtype (``param``: leaky_relu's negative slope,
ignored by the others), with the vectorizable ``exp``, ``expm1``,
``log1p_unit``, ``tanh`` and ``erf`` of ``kernels.elementary``, plain Python
registered with numba
(``register_jitable``): ``kernels.cpu`` compiles a hidden layer with the
one function its code names (``ELEMENTWISE``), and ``kernels.cuda``
compiles ``activate``, which branches on the code at run time. Softmax,
an output activation over a whole row, is ``softmax_row``.

The derivative is the one training keeps for the backward pass (see
``kernels.cpu.activations``): gelu's and silu's need the pre-activation,
which the activation overwrites.
"""

import math

from numba.extending import register_jitable

from .codes import ELU, EXP, GELU, IDENTITY, LEAKY_RELU, LOGISTIC, RELU, SILU, SOFTPLUS, TANH
from .elementary import erf_gauss, exp, expm1, log1p_unit
from .elementary import tanh as _tanh

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


@register_jitable
def identity(x, param):
    return x, type(x)(1.0)


@register_jitable
def relu(x, slope):
    """relu (``slope`` 0) and leaky_relu; NaN stays NaN (not max())."""
    d = type(x)(1.0) if x > 0.0 else slope
    if x < 0.0:
        return x * slope, d
    return x, d


@register_jitable
def logistic(x, param):
    one = type(x)(1.0)
    a = one / (one + exp(-x))
    return a, a * (one - a)


@register_jitable
def tanh(x, param):
    a = _tanh(x)
    return a, type(x)(1.0) - a * a


@register_jitable
def exponential(x, param):
    """The Poisson loss's output (its derivative is never used)."""
    return exp(x), type(x)(1.0)


@register_jitable
def elu(x, param):
    if not x > 0.0:  # NaN takes this branch and stays NaN
        a = expm1(x)
        return a, a + type(x)(1.0)  # e^x
    return x, type(x)(1.0)


@register_jitable
def softplus(x, param):
    one = type(x)(1.0)
    # One exp for both: e = e^-|x|; log(1 + e^x) = max(x, 0) + log1p(e)
    # without overflow, and its derivative sigmoid(x) = 1 / (1 + e) for x
    # >= 0, e / (1 + e) below. NaN stays NaN in both.
    e = exp(-abs(x))
    inv = one / (one + e)
    d = e * inv if x < 0.0 else inv
    return (x if x > 0.0 else type(x)(0.0)) + log1p_unit(e), d


@register_jitable
def gelu(x, param):
    one = type(x)(1.0)
    half = type(x)(0.5)
    t = x * type(x)(_INV_SQRT2)
    g = exp(-(t * t))  # e^(-x^2 / 2): erf's tail, and phi(x) times sqrt(2 pi)
    cdf = half * (one + erf_gauss(t, g))
    # Phi(x) + x phi(x); phi underflows to 0 far out.
    return x * cdf, cdf + x * (type(x)(_INV_SQRT2PI) * g)


@register_jitable
def silu(x, param):
    one = type(x)(1.0)
    s = one / (one + exp(-x))  # 0 or 1 far out: no overflow below
    return x * s, s * (one + x * (one - s))


#: The scalar function of each elementwise activation code.
ELEMENTWISE = {IDENTITY: identity, LOGISTIC: logistic, TANH: tanh, RELU: relu,
               LEAKY_RELU: relu, EXP: exponential, ELU: elu, SOFTPLUS: softplus, GELU: gelu,
               SILU: silu}


@register_jitable
def activate(x, code, param):
    """(f(x), f'(x)) of the elementwise activation ``code``, chosen at run
    time; ``param`` leaky_relu's negative slope."""
    if code == RELU or code == LEAKY_RELU:
        return relu(x, type(x)(param if code == LEAKY_RELU else 0.0))
    if code == LOGISTIC:
        return logistic(x, param)
    if code == TANH:
        return tanh(x, param)
    if code == EXP:
        return exponential(x, param)
    if code == ELU:
        return elu(x, param)
    if code == SOFTPLUS:
        return softplus(x, param)
    if code == GELU:
        return gelu(x, param)
    if code == SILU:
        return silu(x, param)
    return identity(x, param)


@register_jitable
def softmax_row(z, o0, m):
    """Softmax of z[o0:o0 + m] in place: max, exp, normalise, in sequence
    (the sum in float64). A NaN never wins the max: it reaches every
    output through the sum. The CPU head runs the three steps over a
    block of rows, each in a loop of its own (``softmax_shift``, exp,
    ``softmax_normalize``): the same bits."""
    softmax_shift(z, o0, m)
    # The exps in a loop of their own: the sum, in sequence, would keep the
    # loop that computes them from vectorizing (the head took 10% of a W1
    # fit so; the same bits either way).
    for j in range(m):
        z[o0 + j] = exp(z[o0 + j])
    softmax_normalize(z, o0, m)


@register_jitable
def softmax_shift(z, o0, m):
    """z[o0:o0 + m] minus its max, in place (a NaN never wins the max)."""
    mx = z[o0]
    for j in range(1, m):
        if z[o0 + j] > mx:
            mx = z[o0 + j]
    for j in range(m):
        z[o0 + j] = z[o0 + j] - mx


@register_jitable
def softmax_normalize(z, o0, m):
    """z[o0:o0 + m] divided by its sum, in sequence and in float64."""
    s = 0.0
    for j in range(m):
        s += z[o0 + j]
    for j in range(m):
        z[o0 + j] /= s
