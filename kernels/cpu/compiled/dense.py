"""Rows of X into the first layer, and one dense layer's products: the
pieces the drivers build their passes from (the host functions that run
them on whole arrays are ``kernels.cpu.dense``).

The drivers see every float buffer as bytes (``size`` bytes an entry: 8
for float64, 4 for float32, ``double`` for 8) and hand BLAS (``gemm``)
and the components pointers into them (see ``pointers.py``).
"""

from .. import activations as layer
from ._jit import jit, jit_inline
from .activations import call_layer
from .pointers import at, clear, copy
from .pool import team_gemm
from .sparse import FORWARD, WEIGHT_GRAD, call_csr


@jit_inline
def layer_product(double, n, fi, fo, inp, W, out, team):
    """out (n, fo) = inp (n, fi) @ W (fi, fo): a dense layer's forward
    product (its intercepts and activation are the layer component's).
    ``team``: the mini-batch driver's threads, which share the product
    (``pool.team_gemm``), or None."""
    team_gemm(team, double, False, False, n, fo, fi, inp, W, 0.0, out)


@jit_inline
def layer_weight_grad(double, n, fi, fo, inp, dout, beta, dW, team):
    """dW (fi, fo) = inp (n, fi).T @ dout (n, fo), plus dW when ``beta`` is
    1: a dense layer's weight gradient."""
    team_gemm(team, double, True, False, fi, fo, n, inp, dout, beta, dW)


@jit_inline
def layer_input_grad(double, n, fi, fo, dout, W, dinp, team):
    """dinp (n, fi) = dout (n, fo) @ W (fi, fo).T: the gradient at a dense
    layer's input."""
    team_gemm(team, double, False, True, n, fi, fo, dout, W, 0.0, dinp)


@jit_inline
def copy_rows(xb, Xd, data, indices, indptr, is_sparse, rows, row_bytes, size):
    """Copy the rows ``rows`` of X, of ``row_bytes`` bytes each, into the
    byte buffer ``xb``, one after the other. X is dense ``Xd`` (the rows'
    bytes) or, when ``is_sparse``, canonical CSR arrays ``data`` (bytes,
    ``size`` an entry), ``indices``, ``indptr`` (each column once a row)."""
    for r in range(rows.shape[0]):
        i = rows[r]
        dst = r * row_bytes
        if not is_sparse:
            copy(at(xb, dst), at(Xd, i * row_bytes), row_bytes)
            continue
        clear(at(xb, dst), row_bytes)
        for p in range(indptr[i], indptr[i + 1]):
            # one entry: a copy of constant size is a plain load and store
            if size == 8:
                copy(at(xb, dst + indices[p] * 8), at(data, p * 8), 8)
            else:
                copy(at(xb, dst + indices[p] * 4), at(data, p * 4), 4)


@jit_inline
def chunk_rows(xb, Xd, data, indices, indptr, is_sparse, csr, rows, start, nb, n_in, size):
    """Rows ``start .. start + nb`` of X as the passes take them (see
    ``input_product``): for sparse X their row numbers in ``rows`` (int64
    scratch of at least ``nb``); and a pointer to them dense, ``n_in``
    entries of ``size`` bytes a row: into dense ``Xd``, or into ``xb`` after
    gathering sparse X's rows there, unless ``csr`` reads them in place."""
    if not is_sparse:
        return at(Xd, start * n_in * size)
    for r in range(nb):
        rows[r] = start + r
    if csr is None:
        copy_rows(xb, Xd, data, indices, indptr, is_sparse, rows[:nb], n_in * size, size)
        return at(xb, 0)
    return at(Xd, 0)  # not read: the first layer takes the rows' stored entries


@jit_inline
def input_product(double, x, csr, src, n, fi, fo, W, out, team):
    """out (n, fo) = the n input rows @ W (fi, fo), at void pointers: BLAS
    on the dense rows at ``x`` where ``csr`` is None, or, for sparse rows
    read in place (``csr`` the address of a ``sparse.csr_component``;
    ``src`` is ``(data, indices, indptr, rows)``, the batch's row numbers in
    ``rows``), a sum over each row's stored entries: the rows are not
    densified, and the work and memory grow with the non-zeros. ``csr`` is
    None or an address by type, so numba drops the other branch: a driver
    specialized for dense rows holds no sparse code, and the other way
    round."""
    data, indices, indptr, rows = src
    if csr is None:
        layer_product(double, n, fi, fo, x, W, out, team)
    else:
        call_csr(csr, FORWARD, out, W, at(data, 0), at(indices, 0), at(indptr, 0), at(rows, 0),
                 n, fi, fo, 0.0)


@jit_inline
def input_weight_grad(double, x, csr, src, n, fi, fo, dout, beta, G, team):
    """G (fi, fo) = input rows.T @ dout (n, fo), plus G when ``beta`` is 1:
    the first layer's weight gradient, for the input of ``input_product``."""
    data, indices, indptr, rows = src
    if csr is None:
        layer_weight_grad(double, n, fi, fo, x, dout, beta, G, team)
    else:
        call_csr(csr, WEIGHT_GRAD, G, dout, at(data, 0), at(indices, 0), at(indptr, 0),
                 at(rows, 0), n, fi, fo, beta)


@jit
def dense_forward_kernel(identity, size, out, inp, W, b, n, fi, fo):
    """out = inp @ W + b: the drivers' forward product, and the intercepts
    added by the identity layer component ``identity``."""
    layer_product(size == 8, n, fi, fo, at(inp, 0), at(W, 0), at(out, 0), None)
    call_layer(identity, layer.PREDICT, at(out, 0), at(out, 0), at(b, 0), n, fo, 0.0, 0.0, 0, 0,
               0, 0.0)


@jit
def dense_backward_kernel(identity, size, dinp, dW, db, dout, inp, W, n, fi, fo, with_dinp):
    """The drivers' backward products, and the intercept gradient as the
    identity layer component sums it."""
    double = size == 8
    layer_weight_grad(double, n, fi, fo, at(inp, 0), at(dout, 0), 0.0, at(dW, 0), None)
    call_layer(identity, layer.BIAS, at(dout, 0), at(dout, 0), at(db, 0), n, fo, 0.0, 0.0, 0, 0,
               0, 0.0)
    if with_dinp:
        layer_input_grad(double, n, fi, fo, at(dout, 0), at(W, 0), at(dinp, 0), None)


@jit
def gather_rows_kernel(xb, Xd, data, indices, indptr, is_sparse, rows, row_bytes, size):
    copy_rows(xb, Xd, data, indices, indptr, is_sparse, rows, row_bytes, size)


