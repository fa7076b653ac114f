"""Output losses and delta on the GPU; twins of ``kernels.cpu.losses``. The
formulas are ``kernels.losses``' (``row_loss`` branches on the code at run
time).

``loss_sum`` is deterministic: one thread per row writes that row's
weighted loss, then one thread adds the rows up in order.
"""

import numpy as np
from numba import cuda

from ..losses import delta_of, delta_scale, row_loss
from . import _launch


@cuda.jit
def row_loss_kernel(row_loss_out, out, y, sw, loss_code, loss_param, eps):
    i = cuda.grid(1)
    if i < out.shape[0]:
        row_loss_out[i] = sw[i] * row_loss(out[i], 0, y[i], 0, out.shape[1], loss_code,
                                           loss_param, eps)


@cuda.jit
def sum_in_order_kernel(total, values, n, scale, add):
    """total[0] = total[0] * add + scale * sum(values[:n]), one thread."""
    if cuda.grid(1) == 0:
        s = 0.0
        for k in range(n):
            s += values[k]
        total[0] = total[0] * add + scale * s


def loss_sum(d_out, d_y, d_sw, loss_code, loss_param):
    """sum_i sw[i] * l_i (see the CPU twin), as a float64 device array of
    one entry (left on the device: the training loops add it up there)."""
    n = d_out.shape[0]
    d_row_loss = cuda.device_array(max(n, 1), dtype=np.float64)
    d_total = cuda.device_array(1, dtype=np.float64)
    blocks, threads = _launch.grid1(n)
    eps = float(np.finfo(d_out.dtype).eps)  # the probability clip
    row_loss_kernel[blocks, threads](d_row_loss, d_out, d_y, d_sw, loss_code, float(loss_param),
                                     eps)
    sum_in_order_kernel[1, 1](d_total, d_row_loss, n, 1.0, 0.0)
    return d_total


@cuda.jit
def output_delta_kernel(delta, out, y, sw, scale, loss_code, loss_param):
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        delta[i, j] = delta_of(out[i, j] - y[i, j], loss_code, loss_param) * (sw[i] * scale)


def output_delta(d_delta, d_out, d_y, d_sw, scale, loss_code, loss_param):
    """The output delta of the CPU twin: (out - y), sign(out - y) or
    clip(out - y, -loss_param, loss_param), times sw[:, None] * scale, and
    divided by n_outputs for absolute error and Huber."""
    scale = delta_scale(d_out.dtype.type(scale), loss_code, d_out.shape[1])
    blocks, threads = _launch.grid2(d_out.shape[0], d_out.shape[1])
    output_delta_kernel[blocks, threads](d_delta, d_out, d_y, d_sw, scale, loss_code,
                                         float(loss_param))
