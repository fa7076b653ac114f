"""Gradient finishing and optimizer steps on the flat device buffers;
twins of ``kernels.cpu.optimizers`` and ``network.finish_grad``."""

import math

from numba import cuda

from . import _launch


@cuda.jit
def finish_grad_kernel(grad, params, n_coef, alpha, sw_sum):
    k = cuda.grid(1)
    if k < n_coef:
        grad[k] = (grad[k] + alpha * params[k]) / sw_sum
    elif k < grad.shape[0]:
        grad[k] = grad[k] / sw_sum


def finish_grad(d_grad, d_params, n_coef, alpha, sw_sum):
    """Weights: (sum + alpha * W) / sw_sum; intercepts: sum / sw_sum.
    The first ``n_coef`` entries are weights."""
    blocks, threads = _launch.grid1(d_grad.shape[0])
    finish_grad_kernel[blocks, threads](d_grad, d_params, n_coef, alpha, sw_sum)


@cuda.jit
def sgd_step_kernel(params, velocity, grad, lr, momentum, nesterov):
    k = cuda.grid(1)
    if k < params.shape[0]:
        v = momentum * velocity[k] - lr * grad[k]
        velocity[k] = v
        if nesterov:
            v = momentum * v - lr * grad[k]
        params[k] += v


def sgd_step(d_params, d_velocity, d_grad, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum, as the CPU twin."""
    blocks, threads = _launch.grid1(d_params.shape[0])
    sgd_step_kernel[blocks, threads](d_params, d_velocity, d_grad, lr, momentum, nesterov)


@cuda.jit
def adam_step_kernel(params, m, v, grad, lr, beta1, beta2, eps):
    k = cuda.grid(1)
    if k < params.shape[0]:
        g = grad[k]
        mk = beta1 * m[k] + (1.0 - beta1) * g
        vk = beta2 * v[k] + (1.0 - beta2) * (g * g)
        m[k] = mk
        v[k] = vk
        params[k] += -lr * mk / (math.sqrt(vk) + eps)


def adam_step(d_params, d_m, d_v, d_grad, lr, beta1, beta2, eps):
    """One Adam step with the bias-corrected step size ``lr``."""
    blocks, threads = _launch.grid1(d_params.shape[0])
    adam_step_kernel[blocks, threads](d_params, d_m, d_v, d_grad, lr, beta1, beta2, eps)


@cuda.jit
def strided_sqsum_kernel(partial, params, n):
    """partial[t] = sum of params[k]**2 over k = t, t + T, ... (T threads);
    a fixed order per thread, then summed in order: deterministic."""
    t = cuda.grid(1)
    T = partial.shape[0]
    if t < T:
        s = 0.0
        for k in range(t, n, T):
            s += params[k] * params[k]
        partial[t] = s
