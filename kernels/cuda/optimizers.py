"""Gradient finishing and optimizer steps on the flat device buffers;
twins of ``kernels.cpu.optimizers``. The updates are
``kernels.optimizers``'; like the CPU's, the steps take the raw gradient
sums of a backward pass and finish each entry as they read it."""

from numba import cuda

from ..optimizers import adam_update, momentum_update, penalized
from . import _launch


@cuda.jit
def finish_grad_kernel(grad, params, n_coef, alpha, sw_sum):
    k = cuda.grid(1)
    if k < grad.shape[0]:
        grad[k] = penalized(grad[k], params[k], k, n_coef, alpha) / sw_sum


def finish_grad(d_grad, d_params, n_coef, alpha, sw_sum):
    """Weights: (sum + alpha * W) / sw_sum; intercepts: sum / sw_sum.
    The first ``n_coef`` entries are weights."""
    cast = d_grad.dtype.type
    blocks, threads = _launch.grid1(d_grad.shape[0])
    finish_grad_kernel[blocks, threads](d_grad, d_params, n_coef, cast(alpha), cast(sw_sum))


@cuda.jit
def sgd_step_kernel(params, velocity, grad, n_coef, alpha, sw_sum, lr, momentum, nesterov):
    k = cuda.grid(1)
    if k < params.shape[0]:
        g = penalized(grad[k], params[k], k, n_coef, alpha) / sw_sum
        params[k], velocity[k] = momentum_update(params[k], velocity[k], g, lr, momentum,
                                                 nesterov)


def sgd_step(d_params, d_velocity, d_grad, n_coef, alpha, sw_sum, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum on the raw sums, as the CPU twin."""
    cast = d_params.dtype.type
    blocks, threads = _launch.grid1(d_params.shape[0])
    sgd_step_kernel[blocks, threads](d_params, d_velocity, d_grad, n_coef, cast(alpha),
                                     cast(sw_sum), cast(lr), cast(momentum), bool(nesterov))


@cuda.jit
def adam_step_kernel(params, m, v, grad, n_coef, alpha, sw_sum, lr, beta1, beta2, eps):
    k = cuda.grid(1)
    if k < params.shape[0]:
        g = penalized(grad[k], params[k], k, n_coef, alpha) / sw_sum
        params[k], m[k], v[k] = adam_update(params[k], m[k], v[k], g, lr, beta1, beta2, eps)


def adam_step(d_params, d_m, d_v, d_grad, n_coef, alpha, sw_sum, lr, beta1, beta2, eps):
    """One Adam step with the bias-corrected step size ``lr`` on the raw
    sums, as the CPU twin."""
    cast = d_params.dtype.type
    blocks, threads = _launch.grid1(d_params.shape[0])
    adam_step_kernel[blocks, threads](d_params, d_m, d_v, d_grad, n_coef, cast(alpha),
                                      cast(sw_sum), cast(lr), cast(beta1), cast(beta2), cast(eps))


@cuda.jit
def strided_sqsum_kernel(partial, params, n):
    """partial[t] = sum of params[k]**2 over k = t, t + T, ... (T threads);
    a fixed order per thread, then summed in order: deterministic."""
    t = cuda.grid(1)
    T = partial.shape[0]
    if t < T:
        s = 0.0
        for k in range(t, n, T):
            s += float(params[k]) * float(params[k])
        partial[t] = s
