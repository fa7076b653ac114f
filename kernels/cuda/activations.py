"""Activations, their derivatives and dropout on the GPU, in place; twins of
``kernels.cpu.activations`` (training writes each hidden layer's
derivative f'(z), times its dropout mask, into ``dz``)."""

import math

from numba import cuda

from .. import codes
from ..dropout import dropout_keep
from . import _launch

keep = cuda.jit(device=True)(dropout_keep)

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


@cuda.jit(device=True)
def activate(x, code, param):
    """(f(x), f'(x)) of the elementwise activation ``code`` (not softmax);
    ``param``: leaky_relu's negative slope."""
    a = x
    d = 1.0
    if code == codes.LOGISTIC:
        a = 1.0 / (1.0 + math.exp(-x))
        d = a * (1.0 - a)
    elif code == codes.TANH:
        a = math.tanh(x)
        d = 1.0 - a * a
    elif code == codes.RELU or code == codes.LEAKY_RELU:
        slope = param if code == codes.LEAKY_RELU else 0.0
        if not x > 0.0:
            d = slope
        if x < 0.0:  # keeps NaN, as on the CPU
            a = x * slope
    elif code == codes.EXP:
        a = math.exp(x)
    elif code == codes.ELU:
        if not x > 0.0:
            a = math.expm1(x)
            d = a + 1.0
    elif code == codes.SOFTPLUS:
        d = 1.0 / (1.0 + math.exp(-x))
        a = max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    elif code == codes.GELU:
        a = 0.5 * (1.0 + math.erf(x * _INV_SQRT2))
        d = a + x * (_INV_SQRT2PI * math.exp(-0.5 * x * x))
        a = x * a
    elif code == codes.SILU:
        s = 1.0 / (1.0 + math.exp(-x))
        a = x * s
        d = s * (1.0 + x * (1.0 - s))
    return a, d


@cuda.jit
def activation_forward_kernel(z, dz, train, code, param):
    i, j = cuda.grid(2)
    if i >= z.shape[0] or j >= z.shape[1]:
        return
    a, d = activate(z[i, j], code, param)
    z[i, j] = a
    if train:
        dz[i, j] = d


@cuda.jit(device=True)
def softmax_row(z, o0, m):
    """Softmax of z[o0:o0 + m] in place: max, exp, normalise, in sequence."""
    mx = z[o0]
    for j in range(1, m):
        if z[o0 + j] > mx:
            mx = z[o0 + j]
    s = 0.0
    for j in range(m):
        z[o0 + j] = math.exp(z[o0 + j] - mx)
        s += z[o0 + j]
    for j in range(m):
        z[o0 + j] /= s


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
    scale = d_a.dtype.type(1.0 / (1.0 - rate))
    dropout_forward_kernel[blocks, threads](d_a, d_dz, float(rate), scale, int(seed), int(row0),
                                            int(col0))
