"""Every CUDA kernel against its CPU twin (itself tested against
tests/reference.py), at tiny shapes."""

import numpy as np
import pytest
import scipy.sparse as sp

from fastnn._backend import kernel_input
from fastnn.kernels import codes
from fastnn.kernels import cpu as C

cuda = pytest.importorskip("numba.cuda")
G = pytest.importorskip("fastnn.kernels.cuda")
from fastnn.kernels.cuda import fused  # noqa: E402

DTYPES = [np.float64, np.float32]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}
HIDDEN = ["identity", "logistic", "tanh", "relu", "elu", "softplus", "leaky_relu", "gelu",
          "silu"]
OUTPUT_LOSS = [("identity", "squared_error"), ("exp", "poisson"),
               ("softmax", "log_loss"), ("logistic", "binary_log_loss"),
               ("identity", "absolute_error"), ("identity", "huber")]
SLOPE, HUBER_DELTA = 0.2, 0.7  # not the defaults, so that they are seen


def rng_array(shape, dtype, seed=0, scale=1.0):
    return (np.random.RandomState(seed).standard_normal(shape) * scale).astype(dtype)


def dev(a):
    return cuda.to_device(np.ascontiguousarray(a))


def x_args(X, sparse):
    """``(X, host, device)``: X (with some entries zeroed when ``sparse``,
    so that its CSR form is genuinely sparse), and X as the CPU and the
    CUDA kernels take it, ``(Xd, data, indices, indptr, is_sparse)``."""
    if sparse:
        X = X.copy()
        X[np.random.RandomState(99).uniform(size=X.shape) < 0.4] = 0.0
    host = kernel_input(sp.csr_matrix(X) if sparse else X)
    device = tuple(dev(a) if a.size else cuda.device_array(1, a.dtype) for a in host[:4])
    return X, host, (*device, host[4])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_gather_rows(dtype, sparse):
    X, host, device = x_args(rng_array((6, 5), dtype, 1), sparse)
    rows = np.array([4, 0, 4, 2], dtype=np.int64)
    xb = np.full((5, 5), 7.0, dtype)
    C.gather_rows(xb, *host, rows)
    d_xb = dev(np.full((5, 5), 7.0, dtype))
    G.gather_rows(d_xb, *device, dev(rows))
    np.testing.assert_array_equal(d_xb.copy_to_host(), xb)
    np.testing.assert_array_equal(xb[:4], X[rows])


def test_gather_sparse_rows_sums_duplicates():
    """A CSR row may store a column twice; the values add, as on the CPU."""
    data = np.array([1.0, 2.0, 3.0, 4.0])
    indices = np.array([1, 1, 0, 2], dtype=np.int32)
    indptr = np.array([0, 2, 4], dtype=np.int32)
    d_xb = cuda.device_array((2, 3))
    G.gather_rows(d_xb, cuda.device_array(1), dev(data), dev(indices), dev(indptr), True,
                  dev(np.array([1, 0], dtype=np.int64)))
    np.testing.assert_array_equal(d_xb.copy_to_host(), [[3.0, 0.0, 4.0], [0.0, 3.0, 0.0]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("tiled", [False, True])
def test_matmul(dtype, trans_a, trans_b, tiled, monkeypatch):
    """Both kernels, with sizes that are no multiple of the (patched) tile
    so the tiles' edges are exercised."""
    from fastnn.kernels.cuda import _launch

    monkeypatch.setattr(_launch, "TILED_MIN_K", 0 if tiled else 10**9)
    A = rng_array((3, 5) if not trans_a else (5, 3), dtype, 1)
    B = rng_array((5, 4) if not trans_b else (4, 5), dtype, 2)
    d_C = cuda.device_array((3, 4), dtype=dtype)
    G.matmul(d_C, dev(A), dev(B), trans_a, trans_b)
    expected = (A.T if trans_a else A).astype(np.float64) @ (B.T if trans_b else B).astype(np.float64)
    np.testing.assert_allclose(d_C.copy_to_host(), expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_forward_backward(dtype):
    inp, W, b = rng_array((5, 3), dtype, 1), rng_array((3, 4), dtype, 2), rng_array(4, dtype, 3)
    dout = rng_array((5, 4), dtype, 4)
    out = np.empty((5, 4), dtype)
    C.dense_forward(out, inp, W, b)
    d_out = cuda.device_array((5, 4), dtype=dtype)
    G.dense_forward(d_out, dev(inp), dev(W), dev(b))
    np.testing.assert_allclose(d_out.copy_to_host(), out, **TOL[dtype])
    dinp, dW, db = np.empty((5, 3), dtype), np.empty((3, 4), dtype), np.empty(4, dtype)
    C.dense_backward(dinp, dW, db, dout, inp, W)
    d_dinp, d_dW, d_db = (cuda.device_array(a.shape, dtype=dtype) for a in (dinp, dW, db))
    G.dense_backward(d_dinp, d_dW, d_db, dev(dout), dev(inp), dev(W))
    for d, h in ((d_dinp, dinp), (d_dW, dW), (d_db, db)):
        np.testing.assert_allclose(d.copy_to_host(), h, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(codes.ACTIVATIONS))
def test_activations(dtype, name):
    """Prediction (no derivative), training (derivative written) and the
    backward multiplication."""
    code = codes.ACTIVATIONS[name]
    z = rng_array((5, 3), dtype, 5, scale=2.0)
    expected = z.copy()
    C.activation_forward(expected, z[:0, :0], code, dtype(SLOPE))
    d_z = dev(z)
    G.activation_forward(d_z, None, code, dtype(SLOPE))
    np.testing.assert_allclose(d_z.copy_to_host(), expected, **TOL[dtype])
    if name in HIDDEN:
        a, dz = z.copy(), np.empty_like(z)
        C.activation_forward(a, dz, code, dtype(SLOPE))
        d_a, d_dz = dev(z), cuda.device_array(z.shape, dtype=dtype)
        G.activation_forward(d_a, d_dz, code, dtype(SLOPE))
        np.testing.assert_allclose(d_a.copy_to_host(), a, **TOL[dtype])
        np.testing.assert_allclose(d_dz.copy_to_host(), dz, **TOL[dtype])
        delta = rng_array((5, 3), dtype, 6)
        exp_delta = delta.copy()
        C.activation_backward(exp_delta, dz)
        d_delta = dev(delta)
        G.activation_backward(d_delta, d_dz)
        np.testing.assert_allclose(d_delta.copy_to_host(), exp_delta, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_forward(dtype):
    """The GPU draws the CPU's masks."""
    a, dz = rng_array((6, 5), dtype, 7), rng_array((6, 5), dtype, 8)
    exp_a, exp_dz = a.copy(), dz.copy()
    C.dropout_forward(exp_a, exp_dz, 0.4, 12345, 70, 3)
    assert (exp_a == 0).any() and (exp_a != 0).any()
    d_a, d_dz = dev(a), dev(dz)
    G.dropout_forward(d_a, d_dz, 0.4, 12345, 70, 3)
    np.testing.assert_allclose(d_a.copy_to_host(), exp_a, **TOL[dtype])
    np.testing.assert_allclose(d_dz.copy_to_host(), exp_dz, **TOL[dtype])


def _outputs(out_name, dtype, n=6, m=3):
    z = rng_array((n, m), dtype, 7)
    C.activation_forward(z, z[:0, :0], codes.ACTIVATIONS[out_name], dtype(SLOPE))
    if out_name in ("softmax", "logistic"):
        y = np.zeros((n, m), dtype)
        y[np.arange(n), np.arange(n) % m] = 1
    else:
        y = np.abs(rng_array((n, m), dtype, 8))
    sw = np.random.RandomState(9).uniform(0.5, 2.0, n).astype(dtype)
    return z, y, sw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out_name,loss", OUTPUT_LOSS)
def test_losses_and_output_delta(dtype, out_name, loss):
    out, y, sw = _outputs(out_name, dtype)
    code, hd = codes.LOSSES[loss], dtype(HUBER_DELTA)
    expected = C.loss_sum(out, y, sw, code, hd)
    d_total = G.loss_sum(dev(out), dev(y), dev(sw), code, hd)
    np.testing.assert_allclose(d_total.copy_to_host()[0], expected, **TOL[dtype])
    delta = np.empty_like(out)
    C.output_delta(delta, out, y, sw, dtype(0.5), code, hd)
    d_delta = cuda.device_array(out.shape, dtype=dtype)
    G.output_delta(d_delta, dev(out), dev(y), dev(sw), dtype(0.5), code, hd)
    np.testing.assert_allclose(d_delta.copy_to_host(), delta, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nesterov", [False, True])
def test_optimizer_steps(dtype, nesterov):
    n = 13
    p, v, g, m = (rng_array(n, dtype, s) for s in (1, 2, 3, 4))
    s2 = np.abs(rng_array(n, dtype, 5))
    cast = dtype
    p1, v1 = p.copy(), v.copy()
    raw = (5, cast(0.1), cast(2.5))  # raw sums: 5 weights, alpha, the weights' sum
    C.sgd_step(p1, v1, g, *raw, cast(0.1), cast(0.9), nesterov)
    d_p, d_v = dev(p), dev(v)
    G.sgd_step(d_p, d_v, dev(g), *raw, cast(0.1), cast(0.9), nesterov)
    np.testing.assert_allclose(d_p.copy_to_host(), p1, **TOL[dtype])
    np.testing.assert_allclose(d_v.copy_to_host(), v1, **TOL[dtype])
    p2, m2, v2 = p.copy(), m.copy(), s2.copy()
    C.adam_step(p2, m2, v2, g, *raw, cast(0.01), cast(0.9), cast(0.999), cast(1e-8))
    d_p, d_m, d_v = dev(p), dev(m), dev(s2)
    G.adam_step(d_p, d_m, d_v, dev(g), *raw, cast(0.01), cast(0.9), cast(0.999), cast(1e-8))
    for d, h in ((d_p, p2), (d_m, m2), (d_v, v2)):
        np.testing.assert_allclose(d.copy_to_host(), h, **TOL[dtype])


def _net(dtype, units=(3, 5, 4, 2)):
    units = np.array(units, dtype=np.int64)
    params = rng_array(C.n_params(units), dtype, 11, scale=0.5)
    return units, params


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("out_name,loss", OUTPUT_LOSS[:4])
def test_predict(dtype, hidden, out_name, loss):
    units, params = _net(dtype)
    _, host, device = x_args(rng_array((7, 3), dtype, 12), False)
    args = (units, codes.ACTIVATIONS[hidden], dtype(SLOPE), codes.ACTIVATIONS[out_name], 3)
    out = np.empty((7, 2), dtype)
    C.predict(out, *host, params, *args)
    d_out = cuda.device_array((7, 2), dtype=dtype)
    G.predict(d_out, *device, dev(params), *args)
    np.testing.assert_allclose(d_out.copy_to_host(), out, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_sparse(dtype):
    """CSR X read in place on the device (never densified), in chunks of
    3 rows."""
    units, params = _net(dtype)
    _, host, device = x_args(rng_array((7, 3), dtype, 12), True)
    out = np.empty((7, 2), dtype)
    args = (units, codes.RELU, dtype(SLOPE), codes.SOFTMAX, 3)
    C.predict(out, *host, params, *args)
    d_out = cuda.device_array((7, 2), dtype=dtype)
    G.predict(d_out, *device, dev(params), *args)
    np.testing.assert_allclose(d_out.copy_to_host(), out, **TOL[dtype])


EPOCH_CASES = [  # (solver, nesterov, hidden, out_name, loss, dropout rates)
    *[(solver, nesterov, hidden, out_name, loss, None)
      for solver, nesterov in [(codes.SGD, True), (codes.SGD, False), (codes.ADAM, True)]
      for hidden in ["tanh", "relu"] for out_name, loss in OUTPUT_LOSS[:4]],
    (codes.ADAM, True, "leaky_relu", "identity", "huber", None),
    (codes.SGD, True, "gelu", "identity", "absolute_error", None),
    (codes.ADAM, True, "silu", "softmax", "log_loss", (0.5, 0.2)),
    (codes.SGD, False, "relu", "identity", "squared_error", (0.0, 0.6)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver,nesterov,hidden,out_name,loss,drop", EPOCH_CASES)
def test_minibatch_epoch_matches_cpu(dtype, solver, nesterov, hidden, out_name, loss, drop):
    """Two epochs, batch 3 over 7 rows (a partial last batch), weighted rows
    including a zero weight: the same steps as the CPU kernel (the same
    dropout masks, where there is dropout). The fused step, tiles of 2."""
    assert fused.tile_rows(_net(dtype)[0], dtype, 3) == 2
    _check_epochs_match_cpu(dtype, solver, nesterov, hidden, out_name, loss, drop)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver,nesterov,hidden,out_name,loss,drop", EPOCH_CASES[::5])
def test_layered_minibatch_epoch_matches_cpu(dtype, solver, nesterov, hidden, out_name, loss,
                                             drop, monkeypatch):
    """The layer-by-layer path, taken where a tile's activations would not
    fit in shared memory."""
    monkeypatch.setattr(fused, "SHARED_BYTES", 0)
    assert fused.tile_rows(_net(dtype)[0], dtype, 3) == 0
    _check_epochs_match_cpu(dtype, solver, nesterov, hidden, out_name, loss, drop)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver,nesterov,hidden,out_name,loss,drop", EPOCH_CASES[2::9])
def test_sparse_minibatch_epoch_matches_cpu(dtype, solver, nesterov, hidden, out_name, loss,
                                            drop, monkeypatch):
    """CSR X trains layer by layer, the first layer reading each batch's
    stored entries in place (never the fused step, which reads dense
    rows)."""
    def no_fused(*args, **kwargs):
        raise AssertionError("sparse X reached the fused step")

    monkeypatch.setattr(G.epochs, "minibatch_epoch_fused", no_fused)
    _check_epochs_match_cpu(dtype, solver, nesterov, hidden, out_name, loss, drop, sparse=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_first_layer_in_place(dtype):
    """The first layer over CSR rows read in place: the product (with the
    bias) and the weight and bias gradients, against dense products, for
    rows in any order, an empty row and repeated rows."""
    from fastnn.kernels.cuda.dense import SparseRows, sparse_backward, sparse_forward

    X = rng_array((6, 5), dtype, 21)
    X[np.random.RandomState(5).uniform(size=X.shape) < 0.4] = 0.0
    X[2] = 0.0
    csr = sp.csr_matrix(X)
    rows = np.array([4, 2, 0, 4, 5], dtype=np.int64)
    W, b, dout = rng_array((5, 3), dtype, 22), rng_array(3, dtype, 23), rng_array((5, 3), dtype, 24)
    x = SparseRows(dev(csr.data), dev(csr.indices.astype(np.int32)),
                   dev(csr.indptr.astype(np.int32)), dev(rows), 5)
    d_out = cuda.device_array((5, 3), dtype=dtype)
    sparse_forward(d_out, x, dev(W), dev(b))
    np.testing.assert_allclose(d_out.copy_to_host(), X[rows] @ W + b, **TOL[dtype])
    d_dW = dev(np.full((5, 3), np.nan, dtype))  # overwritten, not added to
    d_db = cuda.device_array(3, dtype=dtype)
    sparse_backward(d_dW, d_db, dev(dout), x)
    np.testing.assert_allclose(d_dW.copy_to_host(), X[rows].T @ dout, **TOL[dtype])
    np.testing.assert_allclose(d_db.copy_to_host(), dout.sum(axis=0), **TOL[dtype])


def test_tile_rows():
    """As many rows as fit in shared memory, capped by the batch and
    MAX_TILE_ROWS; none when a single row does not fit."""
    units = np.array([100, 256, 128, 5])  # 389 values a row, twice
    fit = fused.SHARED_BYTES // (2 * 389 * 8)
    assert fused.tile_rows(units, np.float64, 256) == min(fit, fused.MAX_TILE_ROWS)
    assert fused.tile_rows(units, np.float64, 1) == 1
    assert fused.tile_rows(np.array([10, 4000, 1]), np.float64, 256) == 0


def test_fused_epoch_is_deterministic():
    """The same epoch twice gives bit-identical weights and loss."""
    dtype = np.float32
    units, params = _net(dtype)
    X = rng_array((9, 3), dtype, 3)
    Y = rng_array((9, 2), dtype, 4)
    SW = np.ones(9, dtype)
    order = np.arange(9, dtype=np.int64)
    empty = (np.empty(0, dtype), np.empty(0, np.int32), np.empty(0, np.int32), False)
    runs = []
    for _ in range(2):
        d_p = dev(params)
        loss, _ = G.minibatch_epoch(
            d_p, dev(np.zeros_like(params)), dev(np.zeros_like(params)), dev(X), *empty, dev(Y),
            SW, order, 5, units, codes.RELU, dtype(0.0), codes.IDENTITY, codes.SQUARED_ERROR,
            dtype(1.0), dtype(1e-3), np.zeros(2), 0, codes.ADAM, dtype(0.01), dtype(0.9), True,
            dtype(0.9), dtype(0.999), dtype(1e-8), 0)
        runs.append((loss, d_p.copy_to_host()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def _check_epochs_match_cpu(dtype, solver, nesterov, hidden, out_name, loss, drop,
                            sparse=False):
    units, params = _net(dtype)
    n = 7
    _, host, device = x_args(rng_array((n, 3), dtype, 13), sparse)
    Y, _, _ = _outputs(out_name, dtype, n=n, m=2)
    if out_name in ("softmax", "logistic"):
        Y = np.zeros((n, 2), dtype)
        Y[np.arange(n), np.arange(n) % 2] = 1
    SW = np.random.RandomState(14).uniform(0.5, 2.0, n).astype(dtype)
    SW[2] = 0.0
    order = np.random.RandomState(15).permutation(n).astype(np.int64)
    cast = dtype
    rates = np.zeros(2) if drop is None else np.array(drop)
    args = (codes.ACTIVATIONS[hidden], cast(SLOPE), codes.ACTIVATIONS[out_name],
            codes.LOSSES[loss], cast(HUBER_DELTA), cast(1e-3), rates, 4321, solver, cast(0.05),
            cast(0.9), nesterov, cast(0.9), cast(0.999), cast(1e-8))
    p_cpu, s1, s2 = params.copy(), np.zeros_like(params), np.zeros_like(params)
    d_p, d_s1, d_s2 = dev(params), dev(np.zeros_like(params)), dev(np.zeros_like(params))
    d_Y = dev(Y)
    t_cpu = t_gpu = 0
    for _ in range(2):
        loss_cpu, t_cpu = C.minibatch_epoch(p_cpu, s1, s2, *host, Y, SW, order, 3, units,
                                            *args, t_cpu)
        loss_gpu, t_gpu = G.minibatch_epoch(d_p, d_s1, d_s2, *device, d_Y, SW, order, 3,
                                            units, *args, t_gpu)
        np.testing.assert_allclose(loss_gpu, loss_cpu, **TOL[dtype])
    assert t_gpu == t_cpu
    np.testing.assert_allclose(d_p.copy_to_host(), p_cpu, **TOL[dtype])
    np.testing.assert_allclose(d_s1.copy_to_host(), s1, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", ["logistic", "gelu"])
@pytest.mark.parametrize("out_name,loss", OUTPUT_LOSS)
def test_loss_grad_matches_cpu(dtype, hidden, out_name, loss):
    _check_loss_grad_matches_cpu(dtype, hidden, out_name, loss, sparse=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_loss_grad_matches_cpu(dtype):
    """CSR X read in place on the device, in chunks of 3 rows."""
    _check_loss_grad_matches_cpu(dtype, "tanh", "softmax", "log_loss", sparse=True)


def _check_loss_grad_matches_cpu(dtype, hidden, out_name, loss, sparse):
    units, params = _net(dtype)
    n = 7
    _, host, device = x_args(rng_array((n, 3), dtype, 16), sparse)
    Y = np.zeros((n, 2), dtype)
    Y[np.arange(n), np.arange(n) % 2] = 1
    SW = np.random.RandomState(17).uniform(0.5, 2.0, n).astype(dtype)
    args = (units, codes.ACTIVATIONS[hidden], dtype(SLOPE), codes.ACTIVATIONS[out_name],
            codes.LOSSES[loss], dtype(HUBER_DELTA), dtype(1e-2), dtype(0.5), 3)
    grad = np.empty_like(params)
    expected = C.loss_grad(grad, params, *host, Y, SW, *args)
    d_grad = cuda.device_array(params.shape[0], dtype=dtype)
    work = {}  # kept scratch arrays: the second call reuses the first's
    for _ in range(2):
        got = G.loss_grad(d_grad, dev(params), *device, dev(Y), SW, *args, work)
        np.testing.assert_allclose(got, expected, **TOL[dtype])
        np.testing.assert_allclose(d_grad.copy_to_host(), grad, **TOL[dtype])
