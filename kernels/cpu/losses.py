"""Output losses and the output-layer delta.

Every loss is paired with its canonical output activation (see
``kernels.codes``), so the gradient w.r.t. the output pre-activation is
``output - y`` for all of them.
"""

import numpy as np

from .. import codes
from ._jit import jit


@jit
def loss_sum(out, y, sw, loss_code):
    """Weighted sum over rows of the per-row loss, ``sum_i sw[i] * l_i``.

    out, y : (n_rows, n_outputs); sw : (n_rows,). Returns a float64. The
    per-row loss ``l_i`` sums over outputs; for ``SQUARED_ERROR`` it is
    half the mean over outputs of the squared error. Dividing by
    ``sw.sum()`` gives scikit-learn's loss for these rows.
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
def output_delta(delta, out, y, sw, scale):
    """delta = (out - y) * sw[:, None] * scale, the gradient of the weighted
    loss sum w.r.t. the output pre-activation (``scale`` 1 for the summed
    losses; see ``network.loss_grad`` for where it is not).

    delta, out, y : (n_rows, n_outputs); sw : (n_rows,).
    """
    for i in range(out.shape[0]):
        w = sw[i] * scale
        di = delta[i]
        oi = out[i]
        yi = y[i]
        for j in range(oi.shape[0]):
            di[j] = (oi[j] - yi[j]) * w
