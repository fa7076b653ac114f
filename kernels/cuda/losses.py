"""Output losses and delta on the GPU; twins of ``kernels.cpu.losses``.

``loss_sum`` is deterministic: one thread per row writes that row's
weighted loss, then one thread adds the rows up in order.
"""

import math

from numba import cuda

from .. import codes
from . import _launch


@cuda.jit(device=True)
def row_loss(o, o0, y, i, m, loss_code, loss_param, eps):
    """The unweighted loss of one row: outputs o[o0:o0 + m] against y[i]."""
    row = 0.0
    if loss_code == codes.SQUARED_ERROR:
        for j in range(m):
            d = y[i, j] - o[o0 + j]
            row += d * d
        row *= 0.5 / m
    elif loss_code == codes.ABSOLUTE_ERROR:
        for j in range(m):
            row += abs(y[i, j] - o[o0 + j])
        row /= m
    elif loss_code == codes.HUBER:
        for j in range(m):
            r = abs(y[i, j] - o[o0 + j])
            if r <= loss_param:
                row += 0.5 * r * r
            else:
                row += loss_param * (r - 0.5 * loss_param)
        row /= m
    elif loss_code == codes.POISSON:
        for j in range(m):
            yt = y[i, j]
            if yt != 0.0:
                row += yt * math.log(yt / o[o0 + j])
            row += o[o0 + j] - yt
    elif loss_code == codes.LOG_LOSS:
        for j in range(m):
            if y[i, j] != 0.0:
                p = min(max(o[o0 + j], eps), 1.0 - eps)
                row -= y[i, j] * math.log(p)
    else:  # BINARY_LOG_LOSS
        for j in range(m):
            p = min(max(o[o0 + j], eps), 1.0 - eps)
            yt = y[i, j]
            if yt != 0.0:
                row -= yt * math.log(p)
            if yt != 1.0:
                row -= (1.0 - yt) * math.log(1.0 - p)
    return row


@cuda.jit
def row_loss_kernel(row_loss_out, out, y, sw, loss_code, loss_param, eps):
    i = cuda.grid(1)
    if i < out.shape[0]:
        row_loss_out[i] = sw[i] * row_loss(out[i], 0, y, i, out.shape[1], loss_code,
                                           loss_param, eps)


@cuda.jit
def sum_in_order_kernel(total, values, n, scale, add):
    """total[0] = total[0] * add + scale * sum(values[:n]), one thread."""
    if cuda.grid(1) == 0:
        s = 0.0
        for k in range(n):
            s += values[k]
        total[0] = total[0] * add + scale * s


def loss_sum(d_total, d_row_loss, d_out, d_y, d_sw, loss_code, loss_param, eps):
    """d_total[0] = sum_i sw[i] * l_i (see the CPU twin); d_row_loss is a
    scratch buffer of at least n_rows. ``eps`` clips probabilities (the
    dtype's machine epsilon)."""
    n = d_out.shape[0]
    blocks, threads = _launch.grid1(n)
    row_loss_kernel[blocks, threads](d_row_loss, d_out, d_y, d_sw, loss_code,
                                     float(loss_param), eps)
    sum_in_order_kernel[1, 1](d_total, d_row_loss, n, 1.0, 0.0)


@cuda.jit(device=True)
def delta_of(r, loss_code, loss_param):
    """The output delta's loss factor for the residual r = out - y."""
    if loss_code == codes.ABSOLUTE_ERROR:
        return 1.0 if r > 0.0 else (-1.0 if r < 0.0 else 0.0)
    if loss_code == codes.HUBER:
        return min(max(r, -loss_param), loss_param)
    return r


@cuda.jit
def output_delta_kernel(delta, out, y, sw, scale, loss_code, loss_param):
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        delta[i, j] = delta_of(out[i, j] - y[i, j], loss_code, loss_param) * (sw[i] * scale)


def output_delta(d_delta, d_out, d_y, d_sw, scale, loss_code, loss_param):
    """The output delta of the CPU twin: (out - y), sign(out - y) or
    clip(out - y, -loss_param, loss_param), times sw[:, None] * scale, and
    divided by n_outputs for absolute error and Huber."""
    if loss_code in (codes.ABSOLUTE_ERROR, codes.HUBER):
        scale = scale / scale.dtype.type(d_out.shape[1])
    blocks, threads = _launch.grid2(d_out.shape[0], d_out.shape[1])
    output_delta_kernel[blocks, threads](d_delta, d_out, d_y, d_sw, scale, loss_code,
                                         loss_param)
