"""The optimizer updates, one formula for both devices.

Plain Python registered with numba (``register_jitable``): the CPU step
component and the GPU step kernels compile the same scalar updates, in
the dtype of the values they are given (the callers cast the scalars to
the parameters' dtype). ``adam_lr`` is computed in float64 on the host
side of each device.

The parameter buffer's first ``n_coef`` entries are weights (see
``kernels.layout``); a backward pass leaves raw sums, which ``penalized``
and a division by the batch's weight sum turn into scikit-learn's
gradient.
"""

import math

import numpy as np
from numba.extending import register_jitable


def adam_lr(lr_init, beta1, beta2, t):
    """Adam's bias-corrected step size at step ``t`` (1-based), computed in
    float64 whatever the scalars' dtype, to the bit as scikit-learn does in
    Python: the powers take a float exponent (an integer power multiplied
    out differs from Python's in the last bits)."""
    b1 = np.float64(beta1)
    b2 = np.float64(beta2)
    tf = np.float64(t)
    return np.float64(lr_init) * np.sqrt(1.0 - b2**tf) / (1.0 - b1**tf)


@register_jitable
def penalized(g, p, k, n_coef, alpha):
    """Entry ``k``'s raw gradient sum ``g`` with the L2 term ``alpha * p``
    added where it is a weight: divided by the weight sum, scikit-learn's
    gradient."""
    if k < n_coef:
        return g + alpha * p
    return g


@register_jitable
def momentum_update(p, velocity, g, lr, momentum, nesterov):
    """One parameter's SGD step with (Nesterov) momentum: its new (value,
    velocity)."""
    v = momentum * velocity - lr * g
    if nesterov:
        return p + (momentum * v - lr * g), v
    return p + v, v


@register_jitable
def adam_update(p, m, v, g, lr, beta1, beta2, eps):
    """One parameter's Adam step with the bias-corrected step size ``lr``:
    its new (value, first moment, second moment)."""
    one = type(p)(1.0)  # keeps float32 arithmetic in float32
    mk = beta1 * m + (one - beta1) * g
    vk = beta2 * v + (one - beta2) * (g * g)
    return p + -lr * mk / (math.sqrt(vk) + eps), mk, vk
