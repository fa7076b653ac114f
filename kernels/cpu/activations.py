"""Activations and their derivatives, in place on ``(n_rows, n_units)`` arrays.

Derivatives are written in terms of the activation's *output* ``a`` (as
scikit-learn does), so the forward pass need not keep pre-activations.
"""

import numpy as np

from .. import codes
from ._jit import jit


@jit
def activation_forward(z, code):
    """Apply activation ``code`` to ``z`` in place. z : (n_rows, n_units)."""
    n, m = z.shape
    if code == codes.IDENTITY:
        return
    if code == codes.LOGISTIC:
        for i in range(n):
            for j in range(m):
                z[i, j] = 1.0 / (1.0 + np.exp(-z[i, j]))
    elif code == codes.TANH:
        for i in range(n):
            for j in range(m):
                z[i, j] = np.tanh(z[i, j])
    elif code == codes.RELU:
        for i in range(n):
            for j in range(m):
                if z[i, j] < 0.0:
                    z[i, j] = 0.0
    elif code == codes.EXP:
        for i in range(n):
            for j in range(m):
                z[i, j] = np.exp(z[i, j])
    elif code == codes.SOFTMAX:
        for i in range(n):
            mx = z[i, 0]
            for j in range(1, m):
                if z[i, j] > mx:
                    mx = z[i, j]
            s = 0.0
            for j in range(m):
                z[i, j] = np.exp(z[i, j] - mx)
                s += z[i, j]
            for j in range(m):
                z[i, j] /= s


@jit
def activation_backward(delta, a, code):
    """Multiply ``delta`` in place by the derivative of hidden activation ``code``.

    delta : (n_rows, n_units), gradient w.r.t. the activation's output on
    entry, w.r.t. its input on exit. a : (n_rows, n_units), the activation's
    output from the forward pass.
    """
    n, m = delta.shape
    if code == codes.LOGISTIC:
        for i in range(n):
            for j in range(m):
                delta[i, j] *= a[i, j]
                delta[i, j] *= 1.0 - a[i, j]
    elif code == codes.TANH:
        for i in range(n):
            for j in range(m):
                delta[i, j] *= 1.0 - a[i, j] ** 2
    elif code == codes.RELU:
        for i in range(n):
            for j in range(m):
                if a[i, j] == 0.0:
                    delta[i, j] = 0.0
