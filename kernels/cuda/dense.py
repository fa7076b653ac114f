"""Dense layer on the GPU: matrix products, bias, row gather.

Twins of ``kernels.cpu.dense`` (and ``network.gather_rows``).
"""

from numba import cuda

from . import _launch


@cuda.jit
def matmul_kernel(C, A, B, trans_a, trans_b):
    """C = op(A) @ op(B), op(X) = X.T when its flag is set; one thread per
    element of C, summing over k in sequence (deterministic)."""
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


def matmul(d_C, d_A, d_B, trans_a=False, trans_b=False):
    """d_C = op(d_A) @ op(d_B) (see matmul_kernel)."""
    blocks, threads = _launch.grid2(d_C.shape[0], d_C.shape[1])
    matmul_kernel[blocks, threads](d_C, d_A, d_B, trans_a, trans_b)


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


@cuda.jit
def gather_rows_kernel(xb, X, rows):
    r, j = cuda.grid(2)
    if r < rows.shape[0] and j < xb.shape[1]:
        xb[r, j] = X[rows[r], j]


def gather_rows(d_xb, d_X, d_rows):
    """d_xb[:len(rows)] = d_X[rows] (dense X)."""
    blocks, threads = _launch.grid2(d_rows.shape[0], d_xb.shape[1])
    gather_rows_kernel[blocks, threads](d_xb, d_X, d_rows)
