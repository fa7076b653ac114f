"""Output losses and deltas, one formula for both devices.

Each loss is a scalar function ``(y, p, param, eps)`` of one output's
target and prediction (float64 in and out; ``param`` Huber's threshold,
``eps`` the probability clip, the dtype's machine epsilon): a row's loss
is the sum of its outputs' terms scaled by ``scale_row`` (half the mean
over outputs for squared error, the mean for absolute error and Huber,
the sum otherwise). ``kernels.cpu`` compiles a head with the one term its
code names (``TERMS``); ``kernels.cuda`` calls ``row_loss``, which
branches on the code at run time.

The classification losses, squared error and Poisson are paired with their
canonical output activation (see ``kernels.codes``), so their delta
w.r.t. the output pre-activation is the residual ``out - y``; absolute
error and Huber (identity output) have their own (``delta_of``), divided
by the number of outputs as their losses average over outputs.
"""

import math

from numba.extending import register_jitable

from .codes import ABSOLUTE_ERROR, BINARY_LOG_LOSS, HUBER, LOG_LOSS, POISSON, SQUARED_ERROR


@register_jitable
def clip(p, eps):
    """min(max(p, eps), 1 - eps), NaN kept."""
    if p < eps:
        return eps
    if p > 1.0 - eps:
        return 1.0 - eps
    return p


@register_jitable
def squared_error(yt, p, param, eps):
    d = yt - p
    return d * d


@register_jitable
def absolute_error(yt, p, param, eps):
    return abs(yt - p)


@register_jitable
def huber(yt, p, param, eps):
    r = abs(yt - p)
    return 0.5 * r * r if r <= param else param * (r - 0.5 * param)


@register_jitable
def poisson(yt, p, param, eps):
    term = p - yt
    if yt != 0.0:
        term += yt * math.log(yt / p)
    return term


@register_jitable
def log_loss(yt, p, param, eps):
    if yt != 0.0:
        return 0.0 - yt * math.log(clip(p, eps))
    return 0.0


@register_jitable
def binary_log_loss(yt, p, param, eps):
    p = clip(p, eps)
    term = 0.0
    if yt != 0.0:
        term -= yt * math.log(p)
    if yt != 1.0:
        term -= (1.0 - yt) * math.log(1.0 - p)
    return term


#: The scalar term of each loss code.
TERMS = {SQUARED_ERROR: squared_error, ABSOLUTE_ERROR: absolute_error, HUBER: huber,
         POISSON: poisson, LOG_LOSS: log_loss, BINARY_LOG_LOSS: binary_log_loss}


@register_jitable
def robust(code):
    """Whether the loss averages over outputs with a delta of its own
    (absolute error, Huber)."""
    return code == ABSOLUTE_ERROR or code == HUBER


@register_jitable
def delta_scale(scale, code, m):
    """What the output delta's factor (``delta_of``) is multiplied by, times
    each row's weight: ``scale``, divided by the ``m`` outputs for the
    losses that average over them (in scale's dtype)."""
    if robust(code):
        return scale / type(scale)(m)
    return scale


@register_jitable
def scale_row(s, code, m):
    """A row's loss from ``s``, the sum of its ``m`` outputs' terms."""
    if code == SQUARED_ERROR:
        return s * (0.5 / m)  # half the mean
    if robust(code):
        return s / m
    return s


@register_jitable
def term(yt, p, code, param, eps):
    """The term of the loss ``code``, chosen at run time."""
    if code == SQUARED_ERROR:
        return squared_error(yt, p, param, eps)
    if code == ABSOLUTE_ERROR:
        return absolute_error(yt, p, param, eps)
    if code == HUBER:
        return huber(yt, p, param, eps)
    if code == POISSON:
        return poisson(yt, p, param, eps)
    if code == LOG_LOSS:
        return log_loss(yt, p, param, eps)
    return binary_log_loss(yt, p, param, eps)


@register_jitable
def row_loss(out, o0, y, y0, m, code, param, eps):
    """The unweighted loss of one row, in float64: outputs out[o0:o0 + m]
    against targets y[y0:y0 + m]."""
    s = 0.0
    for j in range(m):
        s += term(float(y[y0 + j]), float(out[o0 + j]), code, param, eps)
    return scale_row(s, code, m)


@register_jitable
def delta_of(r, code, param):
    """The output delta's loss factor for the residual ``r = out - y``, in
    r's dtype: sign(r) for absolute error, r clipped to [-param, param]
    for Huber, r otherwise."""
    zero = type(r)(0.0)
    if code == ABSOLUTE_ERROR:
        return type(r)(1.0) if r > zero else (type(r)(-1.0) if r < zero else zero)
    if code == HUBER:
        cut = type(r)(param)
        return -cut if r < -cut else (cut if r > cut else r)
    return r
