"""The flat parameter buffer and scikit-learn's initialisation.

Every weight and bias lives in one 1-D array in scikit-learn's ``_pack``
layout: each ``coefs_[i]`` raveled (shape ``(fan_in, fan_out)``), then each
``intercepts_[i]``. The kernels work on that buffer; ``coefs_`` and
``intercepts_`` are views into it. Optimizer state buffers share the layout.
"""

import numpy as np


def init_params(units, activation, random_state, dtype):
    """Glorot-uniform weights and biases, drawn from ``random_state`` in
    exactly scikit-learn's order (per layer: the weights, then the bias)."""
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        factor = 2.0 if activation == "logistic" else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(random_state.uniform(-bound, bound, fan_out))
    return pack(coefs, intercepts, dtype)


def pack(coefs, intercepts, dtype, reuse=False):
    """One flat C-contiguous buffer of ``dtype`` from the per-layer arrays.
    With ``reuse``, the buffer they are views of when they still are (as a
    fit leaves them), not a copy: for callers that only read it."""
    parts = [np.asarray(c) for c in coefs] + [np.asarray(b) for b in intercepts]
    if reuse:
        base = parts[0].base
        if (isinstance(base, np.ndarray) and base.dtype == dtype and base.ndim == 1
                and base.flags.c_contiguous and all(p.base is base for p in parts)
                and sum(p.size for p in parts) == base.size):
            start = base.ctypes.data
            for p in parts:
                if p.ctypes.data != start or not p.flags.c_contiguous:
                    break
                start += p.nbytes
            else:
                return base
    return np.concatenate([p.ravel() for p in parts]).astype(dtype, copy=False)


def unpack(params, units):
    """Views ``(coefs, intercepts)`` into ``params`` for layer widths ``units``."""
    coefs, intercepts = [], []
    start = 0
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        coefs.append(params[start : start + fan_in * fan_out].reshape(fan_in, fan_out))
        start += fan_in * fan_out
    for fan_out in units[1:]:
        intercepts.append(params[start : start + fan_out])
        start += fan_out
    return coefs, intercepts
