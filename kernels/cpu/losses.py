"""Output losses and the output-layer delta.

The classification losses, squared error and Poisson are paired with their
canonical output activation (see ``kernels.codes``), so their gradient
w.r.t. the output pre-activation is ``output - y``; absolute error and
Huber (identity output) have their own, divided by the number of outputs
as their losses average over outputs.
"""

import numpy as np

from .. import codes
from ._jit import jit


@jit
def loss_sum(out, y, sw, loss_code, loss_param):
    """Weighted sum over rows of the per-row loss, ``sum_i sw[i] * l_i``.

    out, y : (n_rows, n_outputs); sw : (n_rows,). Returns a float64. The
    per-row loss ``l_i`` sums over outputs for the classification and
    Poisson losses; it is the mean over outputs of half the squared error,
    of the absolute error, or of the Huber loss with threshold
    ``loss_param``. Dividing by ``sw.sum()`` gives scikit-learn's loss for
    these rows.
    """
    n, m = out.shape
    eps = np.finfo(out.dtype).eps
    total = 0.0
    for i in range(n):
        row = 0.0
        if loss_code == codes.SQUARED_ERROR:
            for j in range(m):
                d = np.float64(y[i, j]) - np.float64(out[i, j])
                row += d * d
            row *= 0.5 / m
        elif loss_code == codes.ABSOLUTE_ERROR:
            for j in range(m):
                row += abs(np.float64(y[i, j]) - np.float64(out[i, j]))
            row /= m
        elif loss_code == codes.HUBER:
            delta = np.float64(loss_param)
            for j in range(m):
                r = abs(np.float64(y[i, j]) - np.float64(out[i, j]))
                row += 0.5 * r * r if r <= delta else delta * (r - 0.5 * delta)
            row /= m
        elif loss_code == codes.POISSON:
            for j in range(m):
                yt = np.float64(y[i, j])
                yp = np.float64(out[i, j])
                if yt != 0.0:
                    row += yt * np.log(yt / yp)
                row += yp - yt
        elif loss_code == codes.LOG_LOSS:
            for j in range(m):
                if y[i, j] != 0.0:
                    p = min(max(out[i, j], eps), 1.0 - eps)
                    row -= np.float64(y[i, j]) * np.log(np.float64(p))
        else:  # BINARY_LOG_LOSS
            for j in range(m):
                p = min(max(out[i, j], eps), 1.0 - eps)
                yt = np.float64(y[i, j])
                if yt != 0.0:
                    row -= yt * np.log(np.float64(p))
                if yt != 1.0:
                    row -= (1.0 - yt) * np.log(1.0 - np.float64(p))
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
