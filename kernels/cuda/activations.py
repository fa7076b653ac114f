"""Activations, their derivatives and dropout on the GPU, in place; twins of
``kernels.cpu.activations`` (training writes each hidden layer's
derivative f'(z), times its dropout mask, into ``dz``). The formulas are
``kernels.activations``' (``activate`` branches on the code at run
time) and ``kernels.dropout``'s."""

from numba import cuda

from .. import codes
from ..activations import activate, softmax_row
from ..dropout import dropout_keep, dropout_scale
from . import _launch

keep = cuda.jit(device=True)(dropout_keep)


@cuda.jit
def activation_forward_kernel(z, dz, train, code, param):
    i, j = cuda.grid(2)
    if i >= z.shape[0] or j >= z.shape[1]:
        return
    a, d = activate(z[i, j], code, param)
    z[i, j] = a
    if train:
        dz[i, j] = d


@cuda.jit
def softmax_kernel(z):
    """One thread per row."""
    i = cuda.grid(1)
    if i < z.shape[0]:
        softmax_row(z[i], 0, z.shape[1])


def activation_forward(d_z, d_dz, code, param):
    """Apply activation ``code`` to d_z (n_rows, n_units) in place; write
    f'(z) into d_dz when it is given with rows (training; None or empty
    otherwise). ``param``: leaky_relu's negative slope."""
    train = d_dz is not None and d_dz.shape[0] > 0
    if code == codes.SOFTMAX:
        blocks, threads = _launch.grid1(d_z.shape[0])
        softmax_kernel[blocks, threads](d_z)
    elif code != codes.IDENTITY or train:
        blocks, threads = _launch.grid2(d_z.shape[0], d_z.shape[1])
        activation_forward_kernel[blocks, threads](d_z, d_dz if train else d_z, train, code,
                                                   param)


@cuda.jit
def activation_backward_kernel(delta, dz):
    i, j = cuda.grid(2)
    if i < delta.shape[0] and j < delta.shape[1]:
        delta[i, j] *= dz[i, j]


def activation_backward(d_delta, d_dz):
    """d_delta *= d_dz, with d_dz as the training forward pass wrote it."""
    blocks, threads = _launch.grid2(d_delta.shape[0], d_delta.shape[1])
    activation_backward_kernel[blocks, threads](d_delta, d_dz)


@cuda.jit
def dropout_forward_kernel(a, dz, rate, scale, seed, row0, col0):
    """Kept units scaled by ``scale`` (1 / (1 - rate), in a's dtype)."""
    i, j = cuda.grid(2)
    if i >= a.shape[0] or j >= a.shape[1]:
        return
    if keep(seed, row0 + i, col0 + j, rate):
        a[i, j] *= scale
        dz[i, j] *= scale
    else:
        a[i, j] = 0.0
        dz[i, j] = 0.0


def dropout_forward(d_a, d_dz, rate, seed, row0, col0):
    """Inverted dropout in place, with the CPU twin's masks."""
    blocks, threads = _launch.grid2(d_a.shape[0], d_a.shape[1])
    scale = dropout_scale(rate, d_a.dtype.type(0.0))
    dropout_forward_kernel[blocks, threads](d_a, d_dz, float(rate), scale, int(seed), int(row0),
                                            int(col0))
