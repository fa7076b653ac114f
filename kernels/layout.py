"""Where everything lives in the flat buffers, one formula for both devices.

Parameters (scikit-learn's ``_pack``): ``coefs_[0].ravel(), ...,
coefs_[L-1].ravel(), intercepts_[0], ..., intercepts_[L-1]``, where
``units`` (length L + 1) gives the width of every layer from the input to
the output; the first ``n_coef`` entries are the weights. The gradient
and the optimizer state share the layout.

Activations, derivatives and deltas, for a batch of at most ``max_rows``
rows: the block of layer ``l``'s output (l = 1..L; rows first) starts at
entry ``max_rows * (units[1] + ... + units[l - 1])``.

Plain Python on the host: the CPU drivers and the GPU kernels take the
offsets as arrays (``offsets``), the GPU host code slices its views with
them.
"""

import numpy as np


def n_coef_and_width(units):
    """(how many weights the network has, how many units its layers past
    the input have in all)."""
    units = [int(u) for u in units]
    return sum(a * b for a, b in zip(units[:-1], units[1:])), sum(units[1:])


def n_params(units):
    """Length of the flat parameter buffer."""
    return sum(n_coef_and_width(units))


def coef_offset(units, l):
    """Where layer ``l``'s weights, (units[l], units[l + 1]), start."""
    return sum(int(units[k]) * int(units[k + 1]) for k in range(l))


def intercept_offset(units, l):
    """Where layer ``l``'s intercepts, units[l + 1] of them, start."""
    return n_coef_and_width(units)[0] + sum(int(units[k + 1]) for k in range(l))


def block_offset(units, max_rows, l):
    """Where layer ``l``'s block of outputs (l >= 1) starts in an
    activation buffer for ``max_rows`` rows."""
    return int(max_rows) * sum(int(units[k]) for k in range(1, l))


#: The rows of ``offsets``.
COEF, INTERCEPT, BLOCK = 0, 1, 2


def offsets(units, max_rows):
    """Every layer's offsets as the kernels take them, int64 (3, L): for
    layer l (0-based, L layers), ``[COEF, l]`` its weights, ``[INTERCEPT,
    l]`` its intercepts, ``[BLOCK, l]`` its output's block for ``max_rows``
    rows (``block_offset(units, max_rows, l + 1)``)."""
    n_layers = len(units) - 1
    return np.array([[coef_offset(units, l) for l in range(n_layers)],
                     [intercept_offset(units, l) for l in range(n_layers)],
                     [block_offset(units, max_rows, l + 1) for l in range(n_layers)]],
                    dtype=np.int64)
