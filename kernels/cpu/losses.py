"""Output losses and the output-layer delta.

The classification losses, squared error and Poisson are paired with their
canonical output activation (see ``kernels.codes``), so their gradient
w.r.t. the output pre-activation is ``output - y``; absolute error and
Huber (identity output) have their own, divided by the number of outputs
as their losses average over outputs.

``loss_sum`` loops once over the elements around ``element_loss``, a
scalar function of the loss code, always inlined (see
``_jit.jit_scalar``): one loop to compile instead of one per loss.
"""

import numpy as np

from .. import codes
from ._jit import jit, jit_scalar


@jit_scalar
def element_loss(yt, p, loss_code, loss_param, eps):
    """One output's term of a row's loss (float64 in and out) for target
    ``yt`` and output ``p``; ``eps`` clips probabilities. loss_sum scales
    the row's sum (see there)."""
    if loss_code == codes.SQUARED_ERROR:
        d = yt - p
        return d * d
    if loss_code == codes.ABSOLUTE_ERROR:
        return abs(yt - p)
    if loss_code == codes.HUBER:
        r = abs(yt - p)
        return 0.5 * r * r if r <= loss_param else loss_param * (r - 0.5 * loss_param)
    if loss_code == codes.POISSON:
        term = p - yt
        if yt != 0.0:
            term += yt * np.log(yt / p)
        return term
    term = 0.0
    if loss_code == codes.LOG_LOSS:
        if yt != 0.0:
            term -= yt * np.log(min(max(p, eps), 1.0 - eps))
        return term
    # BINARY_LOG_LOSS
    p = min(max(p, eps), 1.0 - eps)
    if yt != 0.0:
        term -= yt * np.log(p)
    if yt != 1.0:
        term -= (1.0 - yt) * np.log(1.0 - p)
    return term


@jit
def loss_sum(out, y, sw, loss_code, loss_param):
    """Weighted sum over rows of the per-row loss, ``sum_i sw[i] * l_i``.

    out, y : (n_rows, n_outputs); sw : (n_rows,). Returns a float64. The
    per-row loss ``l_i`` sums over outputs for the classification and
    Poisson losses; it is the mean over outputs of half the squared error,
    of the absolute error, or of the Huber loss with threshold
    ``loss_param``. Dividing by ``sw.sum()`` gives scikit-learn's loss for
    these rows. Sums run in float64 whatever the arrays' dtype.
    """
    n, m = out.shape
    eps = np.float64(np.finfo(out.dtype).eps)
    param = np.float64(loss_param)
    total = 0.0
    for i in range(n):
        oi = out[i]
        yi = y[i]
        row = 0.0
        for j in range(m):
            row += element_loss(np.float64(yi[j]), np.float64(oi[j]), loss_code, param, eps)
        if loss_code == codes.SQUARED_ERROR:
            row *= 0.5 / m  # half the mean over outputs
        elif loss_code == codes.ABSOLUTE_ERROR or loss_code == codes.HUBER:
            row /= m
        total += sw[i] * row
    return total


@jit
def output_delta(delta, out, y, sw, scale, loss_code, loss_param):
    """The gradient of the weighted loss sum w.r.t. the output
    pre-activation, times ``scale``: ``(out - y) * sw[:, None] * scale``
    for the canonical-link losses (``scale`` 1 reproduces scikit-learn;
    see ``network.loss_grad`` for where it is not), ``sign(out - y)`` or
    ``clip(out - y, -loss_param, loss_param)`` in place of ``out - y``,
    divided by n_outputs, for absolute error and Huber.

    delta, out, y : (n_rows, n_outputs); sw : (n_rows,).
    """
    m = out.shape[1]
    robust = loss_code == codes.ABSOLUTE_ERROR or loss_code == codes.HUBER
    per_output = scale / out.dtype.type(m) if robust else scale
    zero = out.dtype.type(0.0)
    for i in range(out.shape[0]):
        w = sw[i] * per_output
        di = delta[i]
        oi = out[i]
        yi = y[i]
        if not robust:
            for j in range(m):
                di[j] = (oi[j] - yi[j]) * w
        elif loss_code == codes.ABSOLUTE_ERROR:
            for j in range(m):
                r = oi[j] - yi[j]
                di[j] = w if r > zero else (-w if r < zero else zero)
        else:
            for j in range(m):
                r = min(max(oi[j] - yi[j], -loss_param), loss_param)
                di[j] = r * w
