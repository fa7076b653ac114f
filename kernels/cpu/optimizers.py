"""Optimizer steps on one flat parameter buffer, as scikit-learn takes them.

``params``, ``grad`` and the state buffers share one layout (every coef
raveled, then every intercept), so one loop updates the whole network.
"""

import numpy as np

from ._jit import jit


@jit
def sgd_step(params, velocity, grad, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum.

    velocity = momentum * velocity - lr * grad; params += velocity, or with
    Nesterov params += momentum * velocity - lr * grad.
    params, velocity, grad : (n_params,).
    """
    # One loop per variant: a branch inside would keep LLVM from vectorizing.
    if nesterov:
        for k in range(params.shape[0]):
            v = momentum * velocity[k] - lr * grad[k]
            velocity[k] = v
            params[k] += momentum * v - lr * grad[k]
    else:
        for k in range(params.shape[0]):
            v = momentum * velocity[k] - lr * grad[k]
            velocity[k] = v
            params[k] += v


@jit
def adam_lr(lr_init, beta1, beta2, t):
    """Adam's bias-corrected step size at step ``t`` (1-based), computed in
    float64 whatever the scalars' dtype, to the bit as scikit-learn does in
    Python: the powers take a float exponent (numba's integer power
    multiplies out and differs from Python's in the last bits)."""
    b1 = np.float64(beta1)
    b2 = np.float64(beta2)
    tf = np.float64(t)
    return np.float64(lr_init) * np.sqrt(1.0 - b2**tf) / (1.0 - b1**tf)


@jit
def adam_step(params, m, v, grad, lr, beta1, beta2, eps):
    """One Adam step with the bias-corrected step size ``lr`` (see adam_lr).

    m = beta1 * m + (1 - beta1) * grad; v = beta2 * v + (1 - beta2) * grad**2;
    params += -lr * m / (sqrt(v) + eps).
    params, m, v, grad : (n_params,).
    """
    one = params.dtype.type(1.0)  # keeps float32 arithmetic in float32
    for k in range(params.shape[0]):
        g = grad[k]
        mk = beta1 * m[k] + (one - beta1) * g
        vk = beta2 * v[k] + (one - beta2) * (g * g)
        m[k] = mk
        v[k] = vk
        params[k] += -lr * mk / (np.sqrt(vk) + eps)
