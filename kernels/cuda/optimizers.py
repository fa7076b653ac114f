"""Gradient finishing and optimizer steps on the flat device buffers;
twins of ``kernels.cpu.optimizers`` and ``network.finish_grad``."""

import math

from numba import cuda

from . import _launch


@cuda.jit(device=True)
def finished(g, p, k, n_coef, alpha, sw_sum):
    """scikit-learn's gradient of parameter k from its raw sum g."""
    if k < n_coef:
        return (g + alpha * p) / sw_sum
    return g / sw_sum


@cuda.jit
def finish_grad_kernel(grad, params, n_coef, alpha, sw_sum):
    k = cuda.grid(1)
    if k < grad.shape[0]:
        grad[k] = finished(grad[k], params[k], k, n_coef, alpha, sw_sum)


def finish_grad(d_grad, d_params, n_coef, alpha, sw_sum):
    """Weights: (sum + alpha * W) / sw_sum; intercepts: sum / sw_sum.
    The first ``n_coef`` entries are weights."""
    blocks, threads = _launch.grid1(d_grad.shape[0])
    finish_grad_kernel[blocks, threads](d_grad, d_params, n_coef, alpha, sw_sum)


@cuda.jit(device=True)
def sgd_update(params, velocity, k, g, lr, momentum, nesterov):
    v = momentum * velocity[k] - lr * g
    velocity[k] = v
    if nesterov:
        v = momentum * v - lr * g
    params[k] += v


@cuda.jit
def sgd_step_kernel(params, velocity, grad, lr, momentum, nesterov):
    k = cuda.grid(1)
    if k < params.shape[0]:
        sgd_update(params, velocity, k, grad[k], lr, momentum, nesterov)


def sgd_step(d_params, d_velocity, d_grad, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum, as the CPU twin."""
    blocks, threads = _launch.grid1(d_params.shape[0])
    sgd_step_kernel[blocks, threads](d_params, d_velocity, d_grad, lr, momentum, nesterov)


@cuda.jit(device=True)
def adam_update(params, m, v, k, g, lr, beta1, beta2, eps):
    mk = beta1 * m[k] + (1.0 - beta1) * g
    vk = beta2 * v[k] + (1.0 - beta2) * (g * g)
    m[k] = mk
    v[k] = vk
    params[k] += -lr * mk / (math.sqrt(vk) + eps)


@cuda.jit
def adam_step_kernel(params, m, v, grad, lr, beta1, beta2, eps):
    k = cuda.grid(1)
    if k < params.shape[0]:
        adam_update(params, m, v, k, grad[k], lr, beta1, beta2, eps)


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
