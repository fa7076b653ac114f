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
    # Loops run over row views (zi[j], not z[i, j]) so LLVM vectorizes them.
    if code == codes.LOGISTIC:
        for i in range(n):
            zi = z[i]
            for j in range(m):
                zi[j] = 1.0 / (1.0 + np.exp(-zi[j]))
    elif code == codes.TANH:
        for i in range(n):
            zi = z[i]
            for j in range(m):
                zi[j] = np.tanh(zi[j])
    elif code == codes.RELU:
        for i in range(n):
            zi = z[i]
            for j in range(m):
                if zi[j] < 0.0:  # not max(): NaN must survive to be caught
                    zi[j] = 0.0
    elif code == codes.EXP:
        for i in range(n):
            zi = z[i]
            for j in range(m):
                zi[j] = np.exp(zi[j])
    elif code == codes.ELU:
        for i in range(n):
            zi = z[i]
            for j in range(m):
                if not zi[j] > 0.0:  # NaN takes this branch and stays NaN
                    zi[j] = np.expm1(zi[j])
    elif code == codes.SOFTPLUS:
        for i in range(n):
            zi = z[i]
            for j in range(m):
                # log(1 + e^z) without overflow: max(z, 0) + log1p(e^-|z|)
                x = zi[j]
                zi[j] = max(x, 0.0) + np.log1p(np.exp(-abs(x)))
    elif code == codes.SOFTMAX:
        for i in range(n):
            zi = z[i]
            mx = zi[0]
            for j in range(1, m):
                if zi[j] > mx:
                    mx = zi[j]
            s = 0.0
            for j in range(m):
                zi[j] = np.exp(zi[j] - mx)
                s += zi[j]
            for j in range(m):
                zi[j] /= s


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
            di = delta[i]
            ai = a[i]
            for j in range(m):
                di[j] *= ai[j]
                di[j] *= 1.0 - ai[j]
    elif code == codes.TANH:
        for i in range(n):
            di = delta[i]
            ai = a[i]
            for j in range(m):
                di[j] *= 1.0 - ai[j] ** 2
    elif code == codes.RELU:
        for i in range(n):
            di = delta[i]
            ai = a[i]
            for j in range(m):
                if ai[j] == 0.0:
                    di[j] = 0.0
    elif code == codes.ELU:  # 1 for a > 0, else e^z = a + 1
        for i in range(n):
            di = delta[i]
            ai = a[i]
            for j in range(m):
                if not ai[j] > 0.0:
                    di[j] *= ai[j] + 1.0
    elif code == codes.SOFTPLUS:  # sigmoid(z) = 1 - e^-a
        for i in range(n):
            di = delta[i]
            ai = a[i]
            for j in range(m):
                di[j] *= -np.expm1(-ai[j])
