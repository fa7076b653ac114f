"""Dense layer on the GPU: matrix products, bias, row gather, and the first
layer over sparse rows read in place.

Twins of ``kernels.cpu``'s ``dense_forward``/``dense_backward`` and of
``network.gather_rows`` and ``input_product``/``input_weight_grad``.
"""

import numba
import numpy as np
from numba import cuda

from . import _launch


def _make_matmul_kernel(dtype, tile):
    """C = op(A) @ op(B) with op(X) = X.T when its flag is set, in square
    shared-memory tiles of side ``tile``: each block stages a tile of A and
    of B, then every thread adds their products for its element of C. Each
    element sums over k in sequence (tile after tile), so the result is
    deterministic. Threads run along C's columns (x), so loads of B and
    stores of C are coalesced."""
    nb_dtype = numba.from_dtype(np.dtype(dtype))

    @cuda.jit
    def matmul_kernel(C, A, B, trans_a, trans_b):
        sA = cuda.shared.array((tile, tile), nb_dtype)
        sB = cuda.shared.array((tile, tile), nb_dtype)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        j = cuda.blockIdx.x * tile + tx  # column of C
        i = cuda.blockIdx.y * tile + ty  # row of C
        M = C.shape[0]
        N = C.shape[1]
        K = A.shape[0] if trans_a else A.shape[1]
        acc = nb_dtype(0.0)
        for k0 in range(0, K, tile):
            ka = k0 + tx
            if i < M and ka < K:
                sA[ty, tx] = A[ka, i] if trans_a else A[i, ka]
            else:
                sA[ty, tx] = 0.0
            kb = k0 + ty
            if kb < K and j < N:
                sB[ty, tx] = B[j, kb] if trans_b else B[kb, j]
            else:
                sB[ty, tx] = 0.0
            cuda.syncthreads()
            for kk in range(tile):
                acc += sA[ty, kk] * sB[kk, tx]
            cuda.syncthreads()
        if i < M and j < N:
            C[i, j] = acc

    return matmul_kernel


@cuda.jit
def matmul_simple_kernel(C, A, B, trans_a, trans_b):
    """The same product with one thread per element of C and no shared
    memory (same summation order): for small inner dimensions, where
    staging tiles does not pay."""
    i, j = cuda.grid(2)
    if i >= C.shape[0] or j >= C.shape[1]:
        return
    n_k = A.shape[0] if trans_a else A.shape[1]
    acc = 0.0
    for k in range(n_k):
        a = A[k, i] if trans_a else A[i, k]
        b = B[j, k] if trans_b else B[k, j]
        acc += a * b
    C[i, j] = acc


_MATMUL_KERNELS = {}


def matmul(d_C, d_A, d_B, trans_a=False, trans_b=False):
    """d_C = op(d_A) @ op(d_B): shared-memory tiles (see
    _make_matmul_kernel, one compiled per dtype and tile size) once the
    inner dimension reaches ``_launch.TILED_MIN_K``, the simple kernel
    below it."""
    rows, cols = d_C.shape
    n_k = d_A.shape[0] if trans_a else d_A.shape[1]
    if n_k < _launch.TILED_MIN_K:
        blocks, threads = _launch.grid2(rows, cols)
        matmul_simple_kernel[blocks, threads](d_C, d_A, d_B, trans_a, trans_b)
        return
    tile = _launch.TILE
    key = (np.dtype(d_C.dtype), tile)
    if key not in _MATMUL_KERNELS:
        _MATMUL_KERNELS[key] = _make_matmul_kernel(d_C.dtype, tile)
    blocks = (max(1, (cols + tile - 1) // tile), max(1, (rows + tile - 1) // tile))
    _MATMUL_KERNELS[key][blocks, (tile, tile)](d_C, d_A, d_B, trans_a, trans_b)


@cuda.jit
def add_bias_kernel(out, b):
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        out[i, j] += b[j]


@cuda.jit
def column_sum_kernel(db, dout):
    """db[j] = sum over rows of dout[:, j], rows in sequence."""
    j = cuda.grid(1)
    if j < db.shape[0]:
        acc = 0.0
        for i in range(dout.shape[0]):
            acc += dout[i, j]
        db[j] = acc


def dense_forward(d_out, d_inp, d_W, d_b):
    """out = inp @ W + b. out : (n_rows, n_out); inp : (n_rows, n_in);
    W : (n_in, n_out); b : (n_out,)."""
    matmul(d_out, d_inp, d_W)
    blocks, threads = _launch.grid2(d_out.shape[0], d_out.shape[1])
    add_bias_kernel[blocks, threads](d_out, d_b)


def dense_backward(d_dinp, d_dW, d_db, d_dout, d_inp, d_W):
    """dW = inp.T @ dout; db = dout summed over rows; dinp = dout @ W.T
    (skipped when ``d_dinp`` has no rows). Shapes as the CPU twin."""
    matmul(d_dW, d_inp, d_dout, trans_a=True)
    blocks, threads = _launch.grid1(d_db.shape[0])
    column_sum_kernel[blocks, threads](d_db, d_dout)
    if d_dinp.shape[0] > 0:
        matmul(d_dinp, d_dout, d_W, trans_b=True)


class SparseRows:
    """Rows ``rows`` (a device int64 array) of CSR X on the device (``data,
    indices, indptr``), as the first layer reads them: in place, never
    densified. ``shape`` is (rows, n_features), as a dense block's."""

    def __init__(self, data, indices, indptr, rows, n_features):
        self.data, self.indices, self.indptr, self.rows = data, indices, indptr, rows
        self.shape = (rows.shape[0], int(n_features))


@cuda.jit
def csr_forward_kernel(out, W, b, data, indices, indptr, rows):
    """out[i, j] = sum of X[rows[i], k] * W[k, j] over the row's stored
    entries, in order (the CPU twin's order), + b[j]."""
    i, j = cuda.grid(2)
    if i < out.shape[0] and j < out.shape[1]:
        r = rows[i]
        acc = 0.0
        for p in range(indptr[r], indptr[r + 1]):
            acc += data[p] * W[indices[p], j]
        out[i, j] = acc + b[j]


@cuda.jit
def zero_2d_kernel(a):
    i, j = cuda.grid(2)
    if i < a.shape[0] and j < a.shape[1]:
        a[i, j] = 0.0


@cuda.jit
def csr_weight_grad_kernel(dW, dout, data, indices, indptr, rows):
    """dW += X[rows].T @ dout, one thread per column j of dW: it walks the
    rows' stored entries in order, as the CPU twin does, so no two threads
    write one element and every sum runs in a fixed order."""
    j = cuda.grid(1)
    if j < dW.shape[1]:
        for i in range(rows.shape[0]):
            r = rows[i]
            d = dout[i, j]
            for p in range(indptr[r], indptr[r + 1]):
                dW[indices[p], j] += data[p] * d


def sparse_forward(d_out, x, d_W, d_b):
    """out = X[rows] @ W + b for ``x`` a SparseRows; shapes as dense_forward."""
    blocks, threads = _launch.grid2(d_out.shape[0], d_out.shape[1])
    csr_forward_kernel[blocks, threads](d_out, d_W, d_b, x.data, x.indices, x.indptr, x.rows)


def sparse_backward(d_dW, d_db, d_dout, x):
    """dW = X[rows].T @ dout, db = dout summed over rows, for ``x`` a
    SparseRows (the first layer: no input gradient)."""
    blocks, threads = _launch.grid2(d_dW.shape[0], d_dW.shape[1])
    zero_2d_kernel[blocks, threads](d_dW)
    blocks, threads = _launch.grid1(d_dW.shape[1])
    csr_weight_grad_kernel[blocks, threads](d_dW, d_dout, x.data, x.indices, x.indptr, x.rows)
    blocks, threads = _launch.grid1(d_db.shape[0])
    column_sum_kernel[blocks, threads](d_db, d_dout)


@cuda.jit
def gather_rows_kernel(xb, X, rows):
    r, j = cuda.grid(2)
    if r < rows.shape[0] and j < xb.shape[1]:
        xb[r, j] = X[rows[r], j]


@cuda.jit
def gather_sparse_rows_kernel(xb, data, indices, indptr, rows):
    """Block r: xb[r] = CSR row rows[r], densified. The block's threads
    zero the row; then one thread adds its stored values in order, so
    duplicate entries sum as on the CPU, deterministically."""
    r = cuda.blockIdx.x
    if r >= rows.shape[0]:
        return
    for j in range(cuda.threadIdx.x, xb.shape[1], cuda.blockDim.x):
        xb[r, j] = 0.0
    cuda.syncthreads()
    if cuda.threadIdx.x == 0:
        i = rows[r]
        for p in range(indptr[i], indptr[i + 1]):
            xb[r, indices[p]] += data[p]


def gather_rows(d_xb, d_Xd, d_data, d_indices, d_indptr, is_sparse, d_rows):
    """d_xb[:len(rows)] = rows ``d_rows`` of X: dense ``d_Xd``, or CSR
    arrays ``d_data, d_indices, d_indptr`` when ``is_sparse``."""
    n = d_rows.shape[0]
    if n == 0:
        return
    if is_sparse:
        gather_sparse_rows_kernel[n, _launch.TPB](d_xb, d_data, d_indices, d_indptr, d_rows)
        return
    blocks, threads = _launch.grid2(n, d_xb.shape[1])
    gather_rows_kernel[blocks, threads](d_xb, d_Xd, d_rows)


def row_block(d_Xd, d_data, d_indices, d_indptr, is_sparse, start, stop, n_features):
    """Rows ``[start, stop)`` of X as the passes take them: a view of dense
    X, or sparse X's rows as SparseRows."""
    if not is_sparse:
        return d_Xd[start:stop]
    rows = cuda.to_device(np.arange(start, stop, dtype=np.int64))
    return SparseRows(d_data, d_indices, d_indptr, rows, n_features)
