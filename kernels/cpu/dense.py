"""The host functions that run one dense layer's products and the
gathering of X's rows on whole arrays (twins of ``kernels.cuda.dense``;
the pieces the drivers build their passes from are
``compiled/dense.py``'s).
"""

from .. import codes
from ._calls import as_bytes, named, run, x_bytes
from .activations import layer_spec


def dense_forward(out, inp, W, b):
    """out = inp @ W + b for one dense layer. inp : (n_rows, n_in), W :
    (n_in, n_out), b : (n_out,), out : (n_rows, n_out)."""
    (n, fi), fo = inp.shape, W.shape[1]
    run(lambda: named(out.dtype, "layer kernels"), ("dense", "dense_forward_kernel"), (),
        [layer_spec(codes.IDENTITY, out.dtype)],
        lambda identity: (identity, out.itemsize, as_bytes(out), as_bytes(inp),
                          as_bytes(W), as_bytes(b), n, fi, fo))


def dense_backward(dinp, dW, db, dout, inp, W):
    """dW = inp.T @ dout, db = dout summed over rows, dinp = dout @ W.T
    (skipped when ``dinp`` has no rows): one dense layer's gradients."""
    (n, fi), fo = inp.shape, W.shape[1]
    run(lambda: named(dW.dtype, "layer kernels"), ("dense", "dense_backward_kernel"), (),
        [layer_spec(codes.IDENTITY, dW.dtype)],
        lambda identity: (identity, dW.itemsize, as_bytes(dinp), as_bytes(dW), as_bytes(db),
                          as_bytes(dout), as_bytes(inp), as_bytes(W), n, fi, fo,
                          dinp.shape[0] > 0))


def gather_rows(xb, Xd, data, indices, indptr, is_sparse, rows):
    """Copy the rows ``rows`` of X (dense ``Xd``, or canonical CSR arrays)
    into the dense buffer ``xb[:len(rows)]``."""
    run(lambda: named(xb.dtype, "row gathering kernel"), ("dense", "gather_rows_kernel"),
        (indices.dtype.char,), [],
        lambda: (as_bytes(xb), *x_bytes(Xd, data, indices, indptr, is_sparse), rows,
                 xb.shape[1] * xb.itemsize, xb.itemsize))
