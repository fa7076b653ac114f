"""The host functions that run the hidden-layer component (in
``compiled/activations.py``, which says what it does) on whole arrays,
and dropout (twins of ``kernels.cuda.activations``).
"""

import numpy as np

from .. import codes
from ._calls import as_bytes, named, run

#: What the layer component does (its first argument).
PREDICT = 0  # z = f(z + b)
TRAIN = 1  # and dz = f'(z + b), then dropout
BACKWARD = 2  # delta = delta * dz, and the intercept gradient: its column sums
BIAS = 3  # the intercept gradient alone (of the output layer, where delta is final)


def layer_name(code, dtype, dropout=False):
    """The unit name (and qualified name) of ``layer_component(code, dtype,
    dropout)``."""
    return f"layer_{int(code)}_{np.dtype(dtype).name}" + ("_dropout" if dropout else "")


def layer_spec(code, dtype, drop=None):
    """The spec (see ``_calls.run``) of the layer component for ``code``,
    ``dtype`` and the dropout rates ``drop`` (none, or all 0: no dropout
    code)."""
    key = (int(code), np.dtype(dtype).type, bool(drop is not None and drop.any()))
    return ("activations", "layer_component"), layer_name, key


def _layer_call(mode, code, z, dz, b, param, rate=0.0, seed=0, row0=0, col0=0):
    n, m = z.shape
    drop = np.array([rate])
    run(lambda: named(z.dtype, "layer kernels"), ("activations", "layer_kernel"), (),
        [layer_spec(code, z.dtype, drop)],
        lambda hidden: (hidden, mode, as_bytes(z), as_bytes(dz), as_bytes(b), n, m,
                        float(param), float(rate), int(seed), int(row0), int(col0), 0.0))


def bias_activation_forward(z, dz, b, code, param):
    """z = f(z + b) in place for the activation ``code``, and f'(z + b)
    into ``dz`` when it has rows (softmax and exp, output activations:
    through the head, without ``dz``). z : (n_rows, n_units)."""
    if code in (codes.SOFTMAX, codes.EXP):
        from .losses import activate_output

        activate_output(z, b, code)
        return
    train = dz.shape[0] > 0
    _layer_call(TRAIN if train else PREDICT, code, z, dz if train else z, b, param)


def activation_forward(z, dz, code, param):
    """Apply activation ``code`` to z (n_rows, n_units) in place; write
    f'(z) into dz when it has rows (training). ``param``: leaky_relu's
    negative slope."""
    bias_activation_forward(z, dz, np.zeros(z.shape[1], dtype=z.dtype), code, param)


def activation_backward(delta, dz):
    """delta *= dz, with dz as the training forward pass wrote it."""
    delta *= dz


def activation_backward_sum(delta, dz, col_sum):
    """delta *= dz, and ``col_sum = delta.sum(0)`` after it, in one pass: the
    backward pass below a hidden layer, the layer's intercept gradient
    with it. delta, dz : (n_rows, n_units); col_sum : (n_units,)."""
    _layer_call(BACKWARD, codes.IDENTITY, delta, dz, col_sum, 0.0)


def dropout_forward(a, dz, rate, seed, row0, col0):
    """Inverted dropout in place on a hidden layer's output a (n_rows,
    n_units) and derivative dz, as a training layer applies it (see
    ``drop_units``): through the identity layer, whose derivative of 1
    becomes the mask times 1 / (1 - rate)."""
    mask = np.ones_like(a)
    _layer_call(TRAIN, codes.IDENTITY, a, mask, np.zeros(a.shape[1], dtype=a.dtype), 0.0, rate,
                seed, row0, col0)
    dz *= mask
