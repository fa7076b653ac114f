"""The GPU's exp, expm1, log1p, tanh and erf: its hardware functions.

The shared formulas (``kernels.activations``) call ``kernels.elementary``'s
functions, which the CPU compiles as vectorizable polynomials; on the GPU
they are registered here as ``math.exp``, ``math.expm1``, ``math.log1p``
(``log1p_unit`` too), ``math.tanh`` and ``math.erf`` (``erf_gauss``
ignores the exp it is given), which the device computes faster. (Under
the CUDA simulator the kernels run as Python, the elementary functions'
own Python.)
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
                             (elementary.tanh, math.tanh), (elementary.log1p, math.log1p),
                             (elementary.log1p_unit, math.log1p), (elementary.erf, math.erf)):
        overload(_shared, target="cuda")(_hardware(_device))

    @overload(elementary.erf_gauss, target="cuda")
    def _erf_gauss(x, g):
        return lambda x, g: math.erf(x)
