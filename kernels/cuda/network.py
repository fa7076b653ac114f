"""Whole-network passes on the GPU over one flat device parameter buffer;
twins of ``kernels.cpu.network`` (same layouts: see its module doc).

Views into flat device buffers are device-array slices, so no copy is
made; the offsets are computed on the host.
"""

import numpy as np
from numba import cuda

from . import _launch
from .activations import activation_backward, activation_forward
from .dense import dense_backward, dense_forward
from .optimizers import strided_sqsum_kernel
from .losses import sum_in_order_kernel

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


def forward_pass(d_acts, d_x, d_params, units, cap, hidden_code, out_code):
    """Forward d_x (n_rows, units[0]) into d_acts; returns the output view."""
    n_layers = len(units) - 1
    n = d_x.shape[0]
    inp = d_x
    for l in range(n_layers):
        out = layer_view(d_acts, units, cap, l + 1, n)
        dense_forward(out, inp, coef_view(d_params, units, l), intercept_view(d_params, units, l))
        activation_forward(out, hidden_code if l < n_layers - 1 else out_code)
        inp = out
    return inp


def backward_pass(d_grad, d_deltas, d_acts, d_x, d_params, units, cap, hidden_code):
    """Raw gradient sums into d_grad from the output delta already in
    d_deltas' last block (see the CPU twin)."""
    n_layers = len(units) - 1
    n = d_x.shape[0]
    for l in range(n_layers - 1, -1, -1):
        dout = layer_view(d_deltas, units, cap, l + 1, n)
        if l > 0:
            inp = layer_view(d_acts, units, cap, l, n)
            dinp = layer_view(d_deltas, units, cap, l, n)
        else:
            inp = d_x
            dinp = d_x[:0]
        dense_backward(dinp, coef_view(d_grad, units, l), intercept_view(d_grad, units, l),
                       dout, inp, coef_view(d_params, units, l))
        if l > 0:
            activation_backward(dinp, inp, hidden_code)


def coef_sqnorm(d_total, d_partial, d_params, units):
    """d_total[0] = sum of squared weights, summed in a fixed order."""
    T = d_partial.shape[0]
    strided_sqsum_kernel[max(1, (T + _launch.TPB - 1) // _launch.TPB), _launch.TPB](
        d_partial, d_params, n_coef(units)
    )
    sum_in_order_kernel[1, 1](d_total, d_partial, T, 1.0, 0.0)


def predict(d_out, d_X, d_params, units, hidden_code, out_code, chunk):
    """Forward pass in row chunks of ``chunk``; d_out (n, units[-1])."""
    n = d_out.shape[0]
    cap = max(1, min(chunk, n))
    width = int(np.sum(units[1:]))
    d_acts = cuda.device_array(cap * width, dtype=d_out.dtype)
    for start in range(0, n, cap):
        stop = min(start + cap, n)
        res = forward_pass(d_acts, d_X[start:stop], d_params, units, cap, hidden_code, out_code)
        _copy_rows(d_out[start:stop], res)


@cuda.jit
def copy_kernel(dst, src):
    i, j = cuda.grid(2)
    if i < dst.shape[0] and j < dst.shape[1]:
        dst[i, j] = src[i, j]


def _copy_rows(d_dst, d_src):
    blocks, threads = _launch.grid2(d_dst.shape[0], d_dst.shape[1])
    copy_kernel[blocks, threads](d_dst, d_src)

