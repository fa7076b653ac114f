"""Activations and their derivatives on the GPU, in place; twins of
``kernels.cpu.activations`` (derivatives from the activation's output)."""

import math

from numba import cuda

from .. import codes
from . import _launch


@cuda.jit
def activation_forward_kernel(z, code):
    i, j = cuda.grid(2)
    if i >= z.shape[0] or j >= z.shape[1]:
        return
    if code == codes.LOGISTIC:
        z[i, j] = 1.0 / (1.0 + math.exp(-z[i, j]))
    elif code == codes.TANH:
        z[i, j] = math.tanh(z[i, j])
    elif code == codes.RELU:
        if z[i, j] < 0.0:  # keeps NaN, as on the CPU
            z[i, j] = 0.0
    elif code == codes.EXP:
        z[i, j] = math.exp(z[i, j])
    elif code == codes.ELU:
        if not z[i, j] > 0.0:
            z[i, j] = math.expm1(z[i, j])
    elif code == codes.SOFTPLUS:
        x = z[i, j]
        z[i, j] = max(x, 0.0) + math.log1p(math.exp(-abs(x)))


@cuda.jit
def softmax_kernel(z):
    """One thread per row: max, exp, normalise (row in sequence)."""
    i = cuda.grid(1)
    if i >= z.shape[0]:
        return
    m = z.shape[1]
    mx = z[i, 0]
    for j in range(1, m):
        if z[i, j] > mx:
            mx = z[i, j]
    s = 0.0
    for j in range(m):
        z[i, j] = math.exp(z[i, j] - mx)
        s += z[i, j]
    for j in range(m):
        z[i, j] /= s


def activation_forward(d_z, code):
    """Apply activation ``code`` to d_z (n_rows, n_units) in place."""
    if code == codes.IDENTITY:
        return
    if code == codes.SOFTMAX:
        blocks, threads = _launch.grid1(d_z.shape[0])
        softmax_kernel[blocks, threads](d_z)
    else:
        blocks, threads = _launch.grid2(d_z.shape[0], d_z.shape[1])
        activation_forward_kernel[blocks, threads](d_z, code)


@cuda.jit
def activation_backward_kernel(delta, a, code):
    i, j = cuda.grid(2)
    if i >= delta.shape[0] or j >= delta.shape[1]:
        return
    if code == codes.LOGISTIC:
        delta[i, j] *= a[i, j]
        delta[i, j] *= 1.0 - a[i, j]
    elif code == codes.TANH:
        delta[i, j] *= 1.0 - a[i, j] ** 2
    elif code == codes.RELU:
        if a[i, j] == 0.0:
            delta[i, j] = 0.0
    elif code == codes.ELU:
        if not a[i, j] > 0.0:
            delta[i, j] *= a[i, j] + 1.0
    elif code == codes.SOFTPLUS:
        delta[i, j] *= -math.expm1(-a[i, j])


def activation_backward(d_delta, d_a, code):
    """Multiply d_delta in place by the derivative of hidden activation
    ``code``, given its output d_a."""
    if code == codes.IDENTITY:
        return
    blocks, threads = _launch.grid2(d_delta.shape[0], d_delta.shape[1])
    activation_backward_kernel[blocks, threads](d_delta, d_a, code)
