"""Whole-network passes on the GPU over one flat device parameter buffer;
twins of ``kernels.cpu.network`` (same layouts: see its module doc).

Views into flat device buffers are device-array slices, so no copy is
made; the offsets are computed on the host.
"""

import numpy as np
from numba import cuda

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
    return int(sum(int(a) * int(b) for a, b in zip(units[:-1], units[1:])))


def coef_view(d_params, units, l):
    off = sum(int(units[k]) * int(units[k + 1]) for k in range(l))
    return d_params[off : off + int(units[l]) * int(units[l + 1])].reshape(
        int(units[l]), int(units[l + 1])
    )


def intercept_view(d_params, units, l):
    off = n_coef(units) + sum(int(units[k + 1]) for k in range(l))
    return d_params[off : off + int(units[l + 1])]


def layer_view(d_buf, units, cap, l, n_rows):
    off = sum(cap * int(units[k]) for k in range(1, l))
    return d_buf[off : off + n_rows * int(units[l])].reshape(n_rows, int(units[l]))


def forward_pass(d_acts, d_dacts, d_x, d_params, units, cap, hidden_code, act_param, out_code,
                 drop, seed, row0):
    """Forward d_x (n_rows, units[0]; dense, or SparseRows read in place)
    into d_acts; returns the output view.
    Training passes d_dacts (derivatives) and the dropout rates ``drop``
    (host float64), seed and epoch position ``row0`` (see the CPU twin);
    prediction passes None for d_dacts."""
    n_layers = len(units) - 1
    n = d_x.shape[0]
    train = d_dacts is not None and d_dacts.shape[0] > 0
    inp = d_x
    col0 = 0
    for l in range(n_layers):
        out = layer_view(d_acts, units, cap, l + 1, n)
        forward = sparse_forward if isinstance(inp, SparseRows) else dense_forward
        forward(out, inp, coef_view(d_params, units, l), intercept_view(d_params, units, l))
        if l < n_layers - 1:
            dz = layer_view(d_dacts, units, cap, l + 1, n) if train else None
            activation_forward(out, dz, hidden_code, act_param)
            if train and drop[l] > 0.0:
                dropout_forward(out, dz, drop[l], seed, row0, col0)
            col0 += int(units[l + 1])
        else:
            activation_forward(out, None, out_code, act_param)
        inp = out
    return inp


def backward_pass(d_grad, d_deltas, d_acts, d_dacts, d_x, d_params, units, cap):
    """Raw gradient sums into d_grad from the output delta already in
    d_deltas' last block (see the CPU twin)."""
    n_layers = len(units) - 1
    n = d_x.shape[0]
    for l in range(n_layers - 1, -1, -1):
        dout = layer_view(d_deltas, units, cap, l + 1, n)
        if l == 0 and isinstance(d_x, SparseRows):
            sparse_backward(coef_view(d_grad, units, 0), intercept_view(d_grad, units, 0), dout,
                            d_x)
            break
        if l > 0:
            inp = layer_view(d_acts, units, cap, l, n)
            dinp = layer_view(d_deltas, units, cap, l, n)
        else:
            inp = d_x
            dinp = d_x[:0]
        dense_backward(dinp, coef_view(d_grad, units, l), intercept_view(d_grad, units, l),
                       dout, inp, coef_view(d_params, units, l))
        if l > 0:
            activation_backward(dinp, layer_view(d_dacts, units, cap, l, n))


def coef_sqnorm(d_total, d_partial, d_params, units):
    """d_total[0] = sum of squared weights, summed in a fixed order."""
    T = d_partial.shape[0]
    strided_sqsum_kernel[max(1, (T + _launch.TPB - 1) // _launch.TPB), _launch.TPB](
        d_partial, d_params, n_coef(units)
    )
    sum_in_order_kernel[1, 1](d_total, d_partial, T, 1.0, 0.0)


def predict(d_out, Xd, data, indices, indptr, is_sparse, d_params, units, hidden_code,
            act_param, out_code, chunk):
    """Forward pass in row chunks of ``chunk``; d_out (n, units[-1]). X as
    the CPU twin takes it (dense ``Xd`` or CSR arrays), on the device."""
    n = d_out.shape[0]
    cap = max(1, min(chunk, n))
    width = int(np.sum(units[1:]))
    d_acts = cuda.device_array(cap * width, dtype=d_out.dtype)
    for start in range(0, n, cap):
        stop = min(start + cap, n)
        x = row_block(Xd, data, indices, indptr, is_sparse, start, stop, units[0])
        res = forward_pass(d_acts, None, x, d_params, units, cap, hidden_code, act_param,
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
    cap = max(1, min(chunk, n))
    width = sum(units[1:])

    def make():
        return (*(cuda.device_array(cap * width, dtype=dtype) for _ in range(3)),
                cuda.device_array(d_grad.shape[0], dtype=dtype),
                cuda.device_array(cap, dtype=np.float64), cuda.device_array(1, dtype=np.float64),
                cuda.device_array(1, dtype=np.float64),
                cuda.device_array(SQSUM_THREADS, dtype=np.float64))

    (d_acts, d_dacts, d_deltas, d_part, d_row_loss, d_chunk_loss, d_sq,
     d_partial) = kept(work, (cap, width, dtype, d_grad.shape[0]), make)
    no_drop = np.zeros(n_layers - 1)
    d_total = cuda.to_device(np.zeros(1))
    d_SW = cuda.to_device(np.ascontiguousarray(SW, dtype=dtype))
    blocks, threads = _launch.grid1(d_grad.shape[0])
    fill_kernel[blocks, threads](d_grad, 0.0)
    eps_clip = float(np.finfo(dtype).eps)
    for start in range(0, n, cap):
        stop = min(start + cap, n)
        x = row_block(Xd, data, indices, indptr, is_sparse, start, stop, units[0])
        y, sw = Y[start:stop], d_SW[start:stop]
        out = forward_pass(d_acts, d_dacts, x, d_params, units, cap, hidden_code, act_param,
                           out_code, no_drop, 0, 0)
        loss_sum(d_chunk_loss, d_row_loss, out, y, sw, loss_code, loss_param, eps_clip)
        sum_in_order_kernel[1, 1](d_total, d_chunk_loss, 1, 1.0, 1.0)
        output_delta(layer_view(d_deltas, units, cap, n_layers, stop - start), out, y, sw,
                     delta_scale, loss_code, loss_param)
        backward_pass(d_part, d_deltas, d_acts, d_dacts, x, d_params, units, cap)
        add_into_kernel[blocks, threads](d_grad, d_part)
    sw_sum = float(np.sum(np.asarray(SW, dtype=np.float64)))
    finish_grad(d_grad, d_params, n_coef(units), alpha, dtype.type(sw_sum))
    coef_sqnorm(d_sq, d_partial, d_params, units)
    data_loss = float(d_total.copy_to_host()[0])
    sq = float(d_sq.copy_to_host()[0])
    return (data_loss + 0.5 * float(alpha) * sq) / sw_sum
