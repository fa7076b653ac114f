"""The fully connected layer: forward and backward, outputs first.

``W`` has scikit-learn's layout ``(n_in, n_out)``. Matrix products go to
BLAS through ``np.dot(a, b, out)`` into preallocated buffers.
"""

import numpy as np

from ._jit import jit


@jit
def dense_forward(out, inp, W, b):
    """out = inp @ W + b.

    out : (n_rows, n_out); inp : (n_rows, n_in); W : (n_in, n_out);
    b : (n_out,).
    """
    np.dot(inp, W, out)
    for i in range(out.shape[0]):
        oi = out[i]  # row views let LLVM vectorize
        for j in range(oi.shape[0]):
            oi[j] += b[j]


@jit
def dense_backward(dinp, dW, db, dout, inp, W):
    """Gradients of a dense layer given ``dout``, the gradient at its output.

    dW = inp.T @ dout; db = dout summed over rows (skipped when ``db`` is
    empty: a caller that formed ``dout`` can sum it in the same pass);
    dinp = dout @ W.T (skipped when ``dinp`` has no rows, as for the first
    layer).

    dinp : (n_rows, n_in) or (0, n_in); dW : (n_in, n_out); db : (n_out,)
    or (0,); dout : (n_rows, n_out); inp : (n_rows, n_in); W : (n_in, n_out).
    """
    np.dot(inp.T, dout, dW)
    if db.shape[0] > 0:
        for j in range(db.shape[0]):
            db[j] = 0.0
        for i in range(dout.shape[0]):
            di = dout[i]  # row views let LLVM vectorize
            for j in range(db.shape[0]):
                db[j] += di[j]
    if dinp.shape[0] > 0:
        np.dot(dout, W.T, dinp)
