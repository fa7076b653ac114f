"""Output losses and delta on the GPU; twins of ``kernels.cpu.losses``.

``loss_sum`` is deterministic: one thread per row writes that row's
weighted loss, then one thread adds the rows up in order.
"""

import math

from numba import cuda

from .. import codes
from . import _launch


@cuda.jit
def row_loss_kernel(row_loss, out, y, sw, loss_code, eps):
    i = cuda.grid(1)
    if i >= out.shape[0]:
        return
    m = out.shape[1]
    row = 0.0
    if loss_code == codes.SQUARED_ERROR:
        for j in range(m):
            d = y[i, j] - out[i, j]
            row += d * d
        row *= 0.5 / m
    elif loss_code == codes.POISSON:
        for j in range(m):
            yt = y[i, j]
            if yt != 0.0:
                row += yt * math.log(yt / out[i, j])
            row += out[i, j] - yt
    elif loss_code == codes.LOG_LOSS:
        for j in range(m):
            if y[i, j] != 0.0:
                p = min(max(out[i, j], eps), 1.0 - eps)
                row -= y[i, j] * math.log(p)
    else:  # BINARY_LOG_LOSS
        for j in range(m):
            p = min(max(out[i, j], eps), 1.0 - eps)
            yt = y[i, j]
            if yt != 0.0:
                row -= yt * math.log(p)
            if yt != 1.0:
                row -= (1.0 - yt) * math.log(1.0 - p)
    row_loss[i] = sw[i] * row


@cuda.jit
def sum_in_order_kernel(total, values, n, scale, add):
    """total[0] = total[0] * add + scale * sum(values[:n]), one thread."""
    if cuda.grid(1) == 0:
        s = 0.0
        for k in range(n):
            s += values[k]
        total[0] = total[0] * add + scale * s


def loss_sum(d_total, d_row_loss, d_out, d_y, d_sw, loss_code, eps):
    """d_total[0] = sum_i sw[i] * l_i (see the CPU twin); d_row_loss is a
    scratch buffer of at least n_rows. ``eps`` clips probabilities (the
    dtype's machine epsilon)."""
    n = d_out.shape[0]
    blocks, threads = _launch.grid1(n)
    row_loss_kernel[blocks, threads](d_row_loss, d_out, d_y, d_sw, loss_code, eps)
    sum_in_order_kernel[1, 1](d_total, d_row_loss, n, 1.0, 0.0)


@cuda.jit
def output_delta_kernel(delta, out, y, sw, scale):
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        delta[i, j] = (out[i, j] - y[i, j]) * (sw[i] * scale)


def output_delta(d_delta, d_out, d_y, d_sw, scale):
    """delta = (out - y) * sw[:, None] * scale."""
    blocks, threads = _launch.grid2(d_out.shape[0], d_out.shape[1])
    output_delta_kernel[blocks, threads](d_delta, d_out, d_y, d_sw, scale)
