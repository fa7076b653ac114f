"""The GPU's exp, expm1, log1p and tanh: its hardware functions.

The shared formulas (``kernels.activations``) call ``kernels.elementary``'s
functions, which the CPU compiles as vectorizable polynomials; on the GPU
they are registered here as ``math.exp``, ``math.expm1``,
``math.log1p`` and ``math.tanh``, which the device computes faster. (Under the CUDA simulator
the kernels run as Python, the elementary functions' own Python.)
"""

import math

from numba.core import config

from .. import elementary


def _hardware(function):
    def generator(x):
        return lambda x: function(x)
    return generator


if not config.ENABLE_CUDASIM:
    from numba.cuda.extending import overload

    for _shared, _device in ((elementary.exp, math.exp), (elementary.expm1, math.expm1),
                             (elementary.tanh, math.tanh), (elementary.log1p, math.log1p)):
        overload(_shared, target="cuda")(_hardware(_device))
