"""Adam's step size, one formula for both devices.

``adam_lr`` is plain Python on float64 values: ``kernels.cpu`` compiles it
into the epoch kernels, and the CUDA host code calls it as it is.
"""

import numpy as np


def adam_lr(lr_init, beta1, beta2, t):
    """Adam's bias-corrected step size at step ``t`` (1-based), computed in
    float64 whatever the scalars' dtype, to the bit as scikit-learn does in
    Python: the powers take a float exponent (an integer power multiplied
    out differs from Python's in the last bits)."""
    b1 = np.float64(beta1)
    b2 = np.float64(beta2)
    tf = np.float64(t)
    return np.float64(lr_init) * np.sqrt(1.0 - b2**tf) / (1.0 - b1**tf)
