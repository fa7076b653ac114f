"""The dropout mask, one formula for both devices.

Whether hidden unit ``unit`` of the row at position ``row`` of an epoch's
order is kept is a pure function of ``(seed, row, unit)``: two rounds of a
32-bit integer hash (xor-shift-multiply) turned into a uniform number in
[0, 1), compared with the dropout rate. Nothing is stored between the
forward and backward passes, the GPU draws exactly the CPU's masks, and a
fit is reproducible from the per-epoch seeds its ``random_state`` draws.

``dropout_keep`` is plain Python over unsigned 64-bit integers (every
product stays below 2**64); ``kernels.cpu`` compiles it with ``@njit`` and
``kernels.cuda`` as a device function. Rows past 2**32 wrap around. Kept
units are scaled by ``dropout_scale`` (inverted dropout), in the dtype of
the values it scales.
"""

import numpy as np
from numba.extending import register_jitable

_M32 = np.uint64(0xFFFFFFFF)


def dropout_keep(seed, row, unit, rate):
    """True if the unit is kept: uniform(seed, row, unit) >= rate."""
    h = np.uint64(seed) & _M32
    for r in range(2):
        v = np.uint64(row) if r == 0 else np.uint64(unit)
        h = (h ^ v) & _M32
        h ^= h >> np.uint64(16)
        h = (h * np.uint64(0x7FEB352D)) & _M32
        h ^= h >> np.uint64(15)
        h = (h * np.uint64(0x846CA68B)) & _M32
        h ^= h >> np.uint64(16)
    return np.float64(h) * 2.3283064365386963e-10 >= rate  # h / 2**32


@register_jitable
def dropout_scale(rate, like):
    """1 / (1 - rate) in the dtype of ``like``: what a kept unit is
    multiplied by, so the layer's expected output is unchanged."""
    return type(like)(1.0 / (1.0 - rate))
