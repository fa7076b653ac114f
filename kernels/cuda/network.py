"""Whole-network passes on the GPU over one flat device parameter buffer;
twins of ``kernels.cpu.network``, in ``kernels.layout``'s layout.

Views into flat device buffers are device-array slices, so no copy is
made; the offsets are computed on the host.
"""

import numpy as np
from numba import cuda

from ..layout import block_offset, coef_offset, intercept_offset, n_coef_and_width
from ..scratch import kept
from . import _launch
from .activations import activation_backward, activation_forward, dropout_forward
from .dense import (SparseRows, dense_backward, dense_forward, row_block, sparse_backward,
                    sparse_forward)
from .losses import loss_sum, output_delta, sum_in_order_kernel
from .optimizers import finish_grad, strided_sqsum_kernel

#: Threads of the deterministic two-step sum of squares.
SQSUM_THREADS = 256


def n_coef(units):
    """How many weights the network of widths ``units`` has."""
    return int(n_coef_and_width(units)[0])


def coef_view(d_params, units, l):
    """Layer ``l``'s weights, (units[l], units[l + 1])."""
    off = int(coef_offset(units, l))
    fi, fo = int(units[l]), int(units[l + 1])
    return d_params[off : off + fi * fo].reshape(fi, fo)


def intercept_view(d_params, units, l):
    """Layer ``l``'s intercepts."""
    off = int(intercept_offset(units, l))
    return d_params[off : off + int(units[l + 1])]


def layer_view(d_buf, units, max_rows, l, n_rows):
    """The first ``n_rows`` rows of layer ``l``'s block (l >= 1)."""
    off = int(block_offset(units, max_rows, l))
    return d_buf[off : off + n_rows * int(units[l])].reshape(n_rows, int(units[l]))


def forward_pass(d_acts, d_derivs, d_x, d_params, units, max_rows, hidden_code, act_param,
                 out_code, drop, seed, row0):
    """Forward d_x (n_rows, units[0]; dense, or SparseRows read in place)
    into d_acts; returns the output view.
    Training passes d_derivs (derivatives) and the dropout rates ``drop``
    (host float64), seed and epoch position ``row0`` (see the CPU twin);
    prediction passes None for d_derivs."""
    n_layers = len(units) - 1
    n = d_x.shape[0]
    train = d_derivs is not None and d_derivs.shape[0] > 0
    inp = d_x
    col0 = 0
    for l in range(n_layers):
        out = layer_view(d_acts, units, max_rows, l + 1, n)
        forward = sparse_forward if isinstance(inp, SparseRows) else dense_forward
        forward(out, inp, coef_view(d_params, units, l), intercept_view(d_params, units, l))
        if l < n_layers - 1:
            dz = layer_view(d_derivs, units, max_rows, l + 1, n) if train else None
            activation_forward(out, dz, hidden_code, act_param)
            if train and drop[l] > 0.0:
                dropout_forward(out, dz, drop[l], seed, row0, col0)
            col0 += int(units[l + 1])
        else:
            activation_forward(out, None, out_code, act_param)
        inp = out
    return inp


def backward_pass(d_grad, d_deltas, d_acts, d_derivs, d_x, d_params, units, max_rows):
    """Raw gradient sums into d_grad from the output delta already in
    d_deltas' last block (see the CPU twin)."""
    n_layers = len(units) - 1
    n = d_x.shape[0]
    for l in range(n_layers - 1, -1, -1):
        dout = layer_view(d_deltas, units, max_rows, l + 1, n)
        if l == 0 and isinstance(d_x, SparseRows):
            sparse_backward(coef_view(d_grad, units, 0), intercept_view(d_grad, units, 0), dout,
                            d_x)
            break
        if l > 0:
            inp = layer_view(d_acts, units, max_rows, l, n)
            dinp = layer_view(d_deltas, units, max_rows, l, n)
        else:
            inp = d_x
            dinp = d_x[:0]
        dense_backward(dinp, coef_view(d_grad, units, l), intercept_view(d_grad, units, l),
                       dout, inp, coef_view(d_params, units, l))
        if l > 0:
            activation_backward(dinp, layer_view(d_derivs, units, max_rows, l, n))


def coef_sqnorm(d_params, units):
    """The sum of squared weights (intercepts excluded), for the L2 penalty,
    summed in a fixed order, as a float64 device array of one entry (left
    on the device: the training loops use it there)."""
    d_partial = cuda.device_array(SQSUM_THREADS, dtype=np.float64)
    d_total = cuda.device_array(1, dtype=np.float64)
    strided_sqsum_kernel[max(1, (SQSUM_THREADS + _launch.TPB - 1) // _launch.TPB), _launch.TPB](
        d_partial, d_params, n_coef(units)
    )
    sum_in_order_kernel[1, 1](d_total, d_partial, SQSUM_THREADS, 1.0, 0.0)
    return d_total


def predict(d_out, Xd, data, indices, indptr, is_sparse, d_params, units, hidden_code,
            act_param, out_code, chunk):
    """Forward pass in row chunks of ``chunk``; d_out (n, units[-1]). X as
    the CPU twin takes it (dense ``Xd`` or CSR arrays), on the device."""
    n = d_out.shape[0]
    max_rows = max(1, min(chunk, n))
    width = int(np.sum(units[1:]))
    d_acts = cuda.device_array(max_rows * width, dtype=d_out.dtype)
    for start in range(0, n, max_rows):
        stop = min(start + max_rows, n)
        x = row_block(Xd, data, indices, indptr, is_sparse, start, stop, units[0])
        res = forward_pass(d_acts, None, x, d_params, units, max_rows, hidden_code, act_param,
                           out_code, None, 0, 0)
        d_out[start:stop].copy_to_device(res)  # both contiguous: a device-to-device copy


@cuda.jit
def add_into_kernel(dst, src):
    k = cuda.grid(1)
    if k < dst.shape[0]:
        dst[k] += src[k]


@cuda.jit
def fill_kernel(dst, value):
    k = cuda.grid(1)
    if k < dst.shape[0]:
        dst[k] = value


def loss_grad(d_grad, d_params, Xd, data, indices, indptr, is_sparse, Y, SW, units,
              hidden_code, act_param, out_code, loss_code, loss_param, alpha, delta_scale,
              chunk, work=None):
    """Full-batch loss and gradient on the GPU, in row chunks; the twin of
    the CPU ``loss_grad`` (same arguments; Xd and Y device arrays, SW a host
    array; ``work`` keeps the device scratch arrays between calls, see
    ``kernels.scratch``). Returns the loss (two numbers read back) and
    leaves the gradient in d_grad."""
    units = [int(u) for u in units]
    n_layers = len(units) - 1
    n = Y.shape[0]
    dtype = d_params.dtype
    max_rows = max(1, min(chunk, n))
    width = sum(units[1:])

    def make():
        return (*(cuda.device_array(max_rows * width, dtype=dtype) for _ in range(3)),
                cuda.device_array(d_grad.shape[0], dtype=dtype))

    d_acts, d_derivs, d_deltas, d_part = kept(work, (max_rows, width, dtype, d_grad.shape[0]),
                                              make)
    no_drop = np.zeros(n_layers - 1)
    d_total = cuda.to_device(np.zeros(1))
    d_SW = cuda.to_device(np.ascontiguousarray(SW, dtype=dtype))
    blocks, threads = _launch.grid1(d_grad.shape[0])
    fill_kernel[blocks, threads](d_grad, 0.0)
    for start in range(0, n, max_rows):
        stop = min(start + max_rows, n)
        x = row_block(Xd, data, indices, indptr, is_sparse, start, stop, units[0])
        y, sw = Y[start:stop], d_SW[start:stop]
        out = forward_pass(d_acts, d_derivs, x, d_params, units, max_rows, hidden_code,
                           act_param, out_code, no_drop, 0, 0)
        sum_in_order_kernel[1, 1](d_total, loss_sum(out, y, sw, loss_code, loss_param), 1, 1.0,
                                  1.0)
        output_delta(layer_view(d_deltas, units, max_rows, n_layers, stop - start), out, y, sw,
                     delta_scale, loss_code, loss_param)
        backward_pass(d_part, d_deltas, d_acts, d_derivs, x, d_params, units, max_rows)
        add_into_kernel[blocks, threads](d_grad, d_part)
    sw_sum = float(np.sum(np.asarray(SW, dtype=np.float64)))
    finish_grad(d_grad, d_params, n_coef(units), alpha, sw_sum)
    data_loss = float(d_total.copy_to_host()[0])
    sq = float(coef_sqnorm(d_params, units).copy_to_host()[0])
    return (data_loss + 0.5 * float(alpha) * sq) / sw_sum
