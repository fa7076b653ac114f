"""Every CPU kernel (kernels/cpu) against the NumPy reference (tests/reference.py).

Parametrized over every activation code, every loss code (each with its
output activation) and both float dtypes. The kernels get arrays of the
dtype under test; the reference gets float64 copies of exactly those values
(and the same dtype-cast scalars), so what is measured is the kernel's
arithmetic alone.

Tolerance is ``atol + rtol * |ref|`` (numpy's ``assert_allclose``):
1e-10 for float64 and 1e-5 for float32, except where noted next to the
assertion. Scalars passed to a kernel are cast to the arrays' dtype, index
arrays are int64, and dense X travels with dummy CSR arrays, as the
estimators pass them (fastnn/_backend.py ``kernel_input``).
"""

import zlib

import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import reference as ref  # tests/ is on sys.path (pytest's rootdir-relative import)
from fastnn.kernels import codes
from fastnn.kernels import cpu as K
from fastnn.kernels.cpu import _pool

DTYPES = [np.float64, np.float32]
DTYPE_IDS = ["f64", "f32"]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-5, atol=1e-5)}

HIDDEN = list(ref.HIDDEN_ACTIVATIONS)  # sklearn's four, elu, softplus, leaky_relu, gelu, silu
LOSSES = list(ref.LOSSES)  # sklearn's, binary_log_loss, absolute_error, huber
ALL_ACTIVATIONS = list(codes.ACTIVATIONS)  # the hidden ones, softmax, exp
SLOPE = 0.2  # leaky_relu's negative slope in these tests (not the default, to be seen)
HUBER_DELTA = 0.7  # likewise, Huber's threshold

# (name, momentum, nesterov) for the SGD variants, plus Adam
SOLVERS = [
    ("sgd-plain", "sgd", 0.0, False),
    ("sgd-momentum", "sgd", 0.9, False),
    ("sgd-nesterov", "sgd", 0.9, True),
    ("adam", "adam", 0.9, True),
]
SOLVER_IDS = [s[0] for s in SOLVERS]

UNITS = [5, 4, 3, 3]  # two hidden layers: backprop crosses a hidden-to-hidden layer


def assert_close(actual, expected, dtype, err_msg="", **tol):
    kw = dict(TOL[dtype])
    kw.update(tol)
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64),
                               np.asarray(expected, dtype=np.float64),
                               err_msg=err_msg, **kw)


def rng_for(*parts):
    """A generator seeded from the test's parameters (reproducible across
    runs, unlike ``hash``)."""
    return np.random.default_rng(zlib.crc32("-".join(map(str, parts)).encode()))


def f64(a):
    """The float64 copy of a kernel-dtype array the reference works on."""
    return np.asarray(a, dtype=np.float64)


def loss_codes(loss_name):
    """(output activation code, loss code) for a loss name."""
    return codes.ACTIVATIONS[ref.OUTPUT_FOR_LOSS[loss_name]], codes.LOSSES[loss_name]


def make_targets(rng, loss_name, n, n_out):
    """Targets valid for ``loss_name``: real values, non-negative counts with
    zeros, one-hot rows, 0/1 labels (plus one fractional target)."""
    if loss_name in ("squared_error", "absolute_error", "huber"):
        return rng.normal(size=(n, n_out))
    if loss_name == "poisson":
        return rng.poisson(1.5, size=(n, n_out)).astype(float)
    if loss_name == "log_loss":
        return np.eye(n_out)[rng.integers(0, n_out, size=n)]
    Y = rng.integers(0, 2, size=(n, n_out)).astype(float)
    Y[0, 0] = 0.25
    return Y


def make_X(rng, n, n_in, density=0.6):
    """Inputs with some exact zeros (so the CSR form is genuinely sparse)."""
    X = rng.normal(size=(n, n_in))
    X[rng.uniform(size=X.shape) > density] = 0.0
    return X


def make_params(rng, units, scale=0.6):
    coefs = [rng.uniform(-scale, scale, (a, b)) for a, b in zip(units[:-1], units[1:])]
    intercepts = [rng.uniform(-scale, scale, b) for b in units[1:]]
    return ref.pack(coefs, intercepts)


def make_weights(rng, n):
    sw = rng.uniform(0.3, 2.0, size=n)
    sw[2] = 0.0  # a zero weight: a row that must not count
    return sw


def kernel_X(X, dtype, sparse):
    """``(Xd, data, indices, indptr, is_sparse)`` as the kernels take X."""
    X = np.ascontiguousarray(X, dtype=dtype)
    if sparse:
        csr = sp.csr_matrix(X)
        return np.empty((0, X.shape[1]), dtype=dtype), csr.data, csr.indices, csr.indptr, True
    no_index = np.empty(0, dtype=np.int32)
    return X, np.empty(0, dtype=dtype), no_index, no_index, False


def block(buf, units, cap, l, n_rows):
    """Rows [0, n_rows) of layer l's block (l >= 1) of a flat activation or
    delta buffer laid out for batches of ``cap`` rows (network.py's layout,
    recomputed here independently)."""
    off = cap * sum(units[1:l])
    return buf[off : off + n_rows * units[l]].reshape(n_rows, units[l])


def ref_net(params, units):
    return ref.unpack(f64(params), units)


# -- activations ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activation_forward(name, dtype):
    rng = rng_for("act-fwd", name, dtype.__name__)
    z = rng.uniform(-4, 4, size=(6, 4))
    z[0] = [0.0, -0.0, 1e-3, -1e-3]  # around relu's kink
    z[1] = [-60.0, 60.0, -30.0, 30.0]  # saturating logistic/tanh; large exp; softmax shift
    z = z.astype(dtype)
    expected = ref.activation(name, f64(z), float(dtype(SLOPE)))
    out = z.copy()
    K.activation_forward(out, z[:0, :0], codes.ACTIVATIONS[name], dtype(SLOPE))
    assert out.dtype == dtype
    assert_close(out, expected, dtype)
    if name == "relu":
        assert (out >= 0).all()
    if name == "softmax":
        assert_close(out.sum(axis=1), np.ones(6), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", HIDDEN)
def test_activation_forward_train_and_backward(name, dtype):
    """Training writes f'(z) beside the activation; backward multiplies by it."""
    rng = rng_for("act-bwd", name, dtype.__name__)
    z = rng.uniform(-3, 3, size=(5, 4))
    z[0, :2] = 0.0
    z[1] = [-60.0, 60.0, -30.0, 30.0]
    z = z.astype(dtype)
    a = z.copy()
    dz = np.full_like(z, np.nan)
    K.activation_forward(a, dz, codes.ACTIVATIONS[name], dtype(SLOPE))
    slope = float(dtype(SLOPE))
    assert_close(a, ref.activation(name, f64(z), slope), dtype)
    assert_close(dz, ref.activation_derivative(name, f64(z), slope), dtype)
    delta = rng.normal(size=(5, 4)).astype(dtype)
    got = delta.copy()
    K.activation_backward(got, dz)
    assert_close(got, f64(delta) * f64(dz), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", HIDDEN)
def test_fused_bias_activation_and_backward_sum(name, dtype):
    """The passes' fused steps: bias then activation (training and
    prediction), and the activation's backward with the column sums of its
    result (the next layer down's intercept gradient)."""
    rng = rng_for("bias-act", name, dtype.__name__)
    z = rng.uniform(-3, 3, size=(5, 4)).astype(dtype)
    b = rng.uniform(-1, 1, size=4).astype(dtype)
    z[0, :2] = -b[:2]  # pre-activation exactly 0, at relu's kink
    z[1, 2] = np.nan  # NaN must come through every activation
    pre = f64(z + b)  # the sum as the kernel forms it, in the arrays' dtype
    slope = float(dtype(SLOPE))
    a, dz = z.copy(), np.full_like(z, np.nan)
    K.bias_activation_forward(a, dz, b, codes.ACTIVATIONS[name], dtype(SLOPE))
    assert np.isnan(a[1, 2])
    keep = ~np.isnan(pre)
    with np.errstate(invalid="ignore"):  # the reference meets the NaN too
        expected, derivative = (ref.activation(name, pre, slope),
                                ref.activation_derivative(name, pre, slope))
    assert_close(a[keep], expected[keep], dtype)
    assert_close(dz[keep], derivative[keep], dtype)
    a_pred = z.copy()
    K.bias_activation_forward(a_pred, z[:0, :0], b, codes.ACTIVATIONS[name], dtype(SLOPE))
    np.testing.assert_array_equal(a_pred, a)

    dz[1, 2] = 0.5
    delta = rng.normal(size=(5, 4)).astype(dtype)
    got, col_sum = delta.copy(), np.full(4, np.nan, dtype=dtype)
    K.activation_backward_sum(got, dz, col_sum)
    assert_close(got, f64(delta) * f64(dz), dtype)
    assert_close(col_sum, (f64(delta) * f64(dz)).sum(axis=0), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("rate", [0.0, 0.3, 0.9])
def test_dropout_forward(rate, dtype):
    rng = rng_for("dropout", rate, dtype.__name__)
    a = rng.normal(size=(40, 7)).astype(dtype)
    dz = rng.uniform(0.1, 1.0, size=(40, 7)).astype(dtype)
    got_a, got_dz = a.copy(), dz.copy()
    K.dropout_forward(got_a, got_dz, rate, 99, 1000, 5)
    keep = ref.dropout_mask(99, 1000 + np.arange(40), 5 + np.arange(7), rate)
    factor = np.where(keep, float(dtype(1.0 / (1.0 - rate))), 0.0)
    assert_close(got_a, f64(a) * factor, dtype)
    assert_close(got_dz, f64(dz) * factor, dtype)
    if rate == 0.0:
        assert keep.all()
    else:
        assert 0 < (~keep).sum() < keep.size


# -- losses ---------------------------------------------------------------------


def _loss_case(rng, loss_name, dtype, n=8, n_out=3):
    """Predictions from the loss's output activation, targets, weights; for
    the log losses some rows push probabilities past the eps clip."""
    out_name = ref.OUTPUT_FOR_LOSS[loss_name]
    z = rng.uniform(-2, 2, size=(n, n_out))
    y = make_targets(rng, loss_name, n, n_out)
    if loss_name == "log_loss":
        z[1] = [0.0, -100.0, -100.0]  # p ~ 1e-44, clipped to eps ...
        y[1] = [0.0, 1.0, 0.0]  # ... on the true class
    if loss_name == "binary_log_loss":
        z[1] = [40.0, -40.0, 0.5]  # p == 1.0 and p ~ 4e-18: both clipped
        y[1] = [0.0, 1.0, 1.0]
    out = ref.activation(out_name, z).astype(dtype)
    return out, y.astype(dtype)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss_name", LOSSES)
def test_loss_sum(loss_name, dtype, weighted):
    rng = rng_for("loss", loss_name, dtype.__name__, weighted)
    out, y = _loss_case(rng, loss_name, dtype)
    n = out.shape[0]
    sw = (make_weights(rng, n) if weighted else np.ones(n)).astype(dtype)
    got = K.loss_sum(out, y, sw, codes.LOSSES[loss_name], dtype(HUBER_DELTA))
    eps = np.finfo(dtype).eps  # the clip uses the kernel dtype's eps
    expected = ref.loss(f64(y), f64(out), f64(sw), loss_name, eps=eps,
                        huber_delta=float(dtype(HUBER_DELTA))) * f64(sw).sum()
    # the kernel accumulates in float64 from the same float32 inputs, so
    # even float32 agrees to float64 precision here
    assert_close(got, expected, np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("scale", [1.0, 1.0 / 3.0])
@pytest.mark.parametrize("loss_name", ["squared_error", "absolute_error", "huber"])
def test_output_delta(loss_name, scale, dtype):
    rng = rng_for("delta", loss_name, scale, dtype.__name__)
    out = rng.normal(size=(6, 3)).astype(dtype)
    y = rng.normal(size=(6, 3)).astype(dtype)
    y[0, 0] = out[0, 0]  # a zero residual: sign 0
    sw = make_weights(rng, 6).astype(dtype)
    delta = np.full_like(out, np.nan)
    K.output_delta(delta, out, y, sw, dtype(scale), codes.LOSSES[loss_name], dtype(HUBER_DELTA))
    expected = ref.output_delta(f64(out), f64(y), f64(sw), float(dtype(scale)), loss_name,
                                float(dtype(HUBER_DELTA)))
    assert_close(delta, expected, dtype)


# -- the dense layer ------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_dense_forward(dtype):
    rng = rng_for("dense-fwd", dtype.__name__)
    inp = rng.normal(size=(7, 5)).astype(dtype)
    W = rng.normal(size=(5, 3)).astype(dtype)
    b = rng.normal(size=3).astype(dtype)
    out = np.full((7, 3), np.nan, dtype=dtype)
    K.dense_forward(out, inp, W, b)
    assert_close(out, ref.dense_forward(f64(inp), f64(W), f64(b)), dtype)


@pytest.mark.parametrize("with_dinp", [True, False], ids=["dinp", "first-layer"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_dense_backward(dtype, with_dinp):
    rng = rng_for("dense-bwd", dtype.__name__, with_dinp)
    inp = rng.normal(size=(7, 5)).astype(dtype)
    W = rng.normal(size=(5, 3)).astype(dtype)
    dout = rng.normal(size=(7, 3)).astype(dtype)
    dinp = np.full((7 if with_dinp else 0, 5), np.nan, dtype=dtype)
    dW = np.full((5, 3), np.nan, dtype=dtype)
    db = np.full(3, np.nan, dtype=dtype)
    K.dense_backward(dinp, dW, db, dout, inp, W)
    e_dinp, e_dW, e_db = ref.dense_backward(f64(dout), f64(inp), f64(W))
    assert_close(dW, e_dW, dtype)
    assert_close(db, e_db, dtype)
    if with_dinp:
        assert_close(dinp, e_dinp, dtype)


# -- optimizer steps ------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("solver", SOLVERS[:3], ids=SOLVER_IDS[:3])
def test_sgd_step(solver, dtype):
    _, _, momentum, nesterov = solver
    rng = rng_for("sgd", solver[0], dtype.__name__)
    params = rng.normal(size=10).astype(dtype)
    velocity = np.zeros(10, dtype=dtype)
    r_params, r_velocity = [f64(params)], [np.zeros(10)]
    lr = dtype(0.05)
    for _ in range(3):
        grad = rng.normal(size=10).astype(dtype)
        K.sgd_step(params, velocity, grad, 0, 0.0, 1.0, lr, dtype(momentum), nesterov)
        ref.sgd_step(r_params, r_velocity, [f64(grad)], float(lr), float(dtype(momentum)), nesterov)
    assert_close(params, r_params[0], dtype)
    assert_close(velocity, r_velocity[0], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_adam_lr(dtype):
    lr, b1, b2 = dtype(0.01), dtype(0.9), dtype(0.999)
    for t in (1, 2, 5, 100, 10000):
        got = K.adam_lr(lr, b1, b2, t)
        expected = ref.adam_lr(float(lr), float(b1), float(b2), t)
        assert_close(got, expected, dtype, err_msg=f"t={t}")


def test_adam_lr_is_scikit_learns_to_the_bit():
    """scikit-learn takes the step size in Python floats; so must we, or
    every Adam step drifts from its by an ulp of the step size."""
    for t in range(1, 3001):
        assert K.adam_lr(0.001, 0.9, 0.999, t) == ref.adam_lr(0.001, 0.9, 0.999, t), t


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_adam_step(dtype):
    rng = rng_for("adam", dtype.__name__)
    params = rng.normal(size=10).astype(dtype)
    m = np.zeros(10, dtype=dtype)
    v = np.zeros(10, dtype=dtype)
    r_params, r_m, r_v = [f64(params)], [np.zeros(10)], [np.zeros(10)]
    lr, b1, b2, eps = dtype(0.01), dtype(0.9), dtype(0.999), dtype(1e-8)
    t = 0
    for step in range(1, 5):
        grad = rng.normal(size=10).astype(dtype)
        grad[0] = 0.0  # a zero gradient: eps keeps the step finite
        K.adam_step(params, m, v, grad, 0, 0.0, 1.0, dtype(K.adam_lr(lr, b1, b2, step)), b1, b2,
                    eps)
        t = ref.adam_step(r_params, r_m, r_v, [f64(grad)], float(lr), float(b1), float(b2),
                          float(eps), t)
    assert t == 4
    assert_close(params, r_params[0], dtype)
    assert_close(m, r_m[0], dtype)
    assert_close(v, r_v[0], dtype)


@pytest.mark.parametrize("sw_sum", [3.5, 256.0, 0.25], ids=["sw-3.5", "sw-256", "sw-0.25"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
def test_raw_steps_are_finish_grad_then_step(solver, dtype, sw_sum):
    """sgd_step and adam_step on raw gradient sums give, to the bit,
    finish_grad followed by the same step on the finished gradient
    (n_coef 0, sw_sum 1), and leave the raw sums as they were; whether
    they divide by sw_sum or (a power of two) multiply by its
    reciprocal."""
    name, kind, momentum, nesterov = solver
    rng = rng_for("raw-step", name, dtype.__name__, sw_sum)
    units = np.array(UNITS, dtype=np.int64)
    n_params = K.n_params(units)
    n_coef = n_params - sum(UNITS[1:])
    params = make_params(rng, UNITS).astype(dtype)
    s1 = (rng.normal(size=n_params) * 0.1).astype(dtype)
    s2 = rng.uniform(0.0, 0.1, size=n_params).astype(dtype)
    alpha, sw_sum, lr = dtype(0.1), dtype(sw_sum), dtype(0.05)
    b1, b2, eps = dtype(0.9), dtype(0.999), dtype(1e-8)
    expected = [a.copy() for a in (params, s1, s2)]
    got = [a.copy() for a in (params, s1, s2)]
    for step in range(1, 4):
        raw = rng.normal(size=n_params).astype(dtype)
        raw[[0, n_coef]] = 0.0  # a zero sum, weight and intercept
        finished = raw.copy()
        K.finish_grad(finished, expected[0], n_coef, alpha, sw_sum)
        kept = raw.copy()
        if kind == "sgd":
            K.sgd_step(expected[0], expected[1], finished, 0, 0.0, 1.0, lr, dtype(momentum),
                       nesterov)
            K.sgd_step(got[0], got[1], raw, n_coef, alpha, sw_sum, lr, dtype(momentum), nesterov)
        else:
            step_lr = dtype(K.adam_lr(lr, b1, b2, step))
            K.adam_step(*expected, finished, 0, 0.0, 1.0, step_lr, b1, b2, eps)
            K.adam_step(*got, raw, n_coef, alpha, sw_sum, step_lr, b1, b2, eps)
        np.testing.assert_array_equal(raw, kept)
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("n", [1, 15, 16, 17, 40])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_claim_lines_changes_no_bits(dtype, n):
    """claim_lines (which the steps after BLAS products run first) stores every value back
    bit for bit: -0.0, a NaN's payload, infinities and subnormals too, on
    lengths around a cache line's worth of entries."""
    rng = rng_for("own-lines", dtype.__name__, n)
    a = rng.normal(size=n).astype(dtype)
    bits = a.view(np.uint32 if dtype == np.float32 else np.uint64)
    payload_nan = 0x7FC01234 if dtype == np.float32 else 0x7FF8000000001234
    special = [np.array(-0.0, dtype), np.array(np.inf, dtype),
               np.array(np.finfo(dtype).smallest_subnormal, dtype)]
    for k, value in zip(range(0, n, 7), special):
        a[k] = value
    bits[n - 1] = payload_nan
    before = a.tobytes()
    K.claim_lines(a)
    assert a.tobytes() == before


# -- network: flat layout, forward, backward ------------------------------------


def test_n_params_and_coef_sqnorm():
    units = np.array(UNITS, dtype=np.int64)
    rng = rng_for("layout")
    flat = make_params(rng, UNITS)
    assert K.n_params(units) == flat.shape[0] == 5 * 4 + 4 * 3 + 3 * 3 + 4 + 3 + 3
    for dtype in DTYPES:
        p = flat.astype(dtype)
        c, _ = ref.unpack(f64(p), UNITS)
        assert_close(K.coef_sqnorm(p, units), sum((w**2).sum() for w in c), np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_gather_rows(sparse, dtype):
    rng = rng_for("gather", sparse, dtype.__name__)
    X = make_X(rng, 9, 5).astype(dtype)
    rows = np.array([4, 0, 8, 4, 2], dtype=np.int64)  # unsorted, repeated
    xb = np.full((7, 5), np.nan, dtype=dtype)  # more rows than gathered
    K.gather_rows(xb, *kernel_X(X, dtype, sparse), rows)
    np.testing.assert_array_equal(xb[:5], X[rows])


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_gather_rows_csr_with_duplicate_entries(dtype, index_dtype):
    """The kernels take canonical CSR (each column once a row) with int32
    indices; kernel_input makes it of any CSR, summing a row's repeated
    entries as scipy does, and leaves the caller's matrix alone."""
    from fastnn._backend import kernel_input

    data = np.array([1.0, 2.0, 3.0, 4.0], dtype=dtype)
    indices = np.array([1, 1, 0, 2], dtype=index_dtype)
    indptr = np.array([0, 2, 4], dtype=index_dtype)
    X = sp.csr_matrix((data, indices, indptr), shape=(2, 3))
    X.indices, X.indptr = indices, indptr  # keep the index dtype under test
    Xk = kernel_input(X)
    assert Xk[2].dtype == Xk[3].dtype == np.int32
    np.testing.assert_array_equal(X.indices, [1, 1, 0, 2])  # not canonicalized in place
    xb = np.full((2, 3), np.nan, dtype=dtype)
    K.gather_rows(xb, *Xk, np.array([1, 0], dtype=np.int64))
    np.testing.assert_array_equal(xb, X.toarray()[[1, 0]])


@pytest.mark.parametrize("drop", [None, (0.5, 0.3)], ids=["", "dropout"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_forward_backward_finish_grad(hidden, loss_name, dtype, drop):
    """forward_pass, then output_delta into the last block, backward_pass
    (raw sums) and finish_grad (penalty, normalisation) against the
    reference's forward and backprop. The buffers hold more rows (cap)
    than the batch, as the last batch of an epoch does."""
    if drop is not None and loss_name not in ("log_loss", "huber"):
        pytest.skip("dropout: two losses are enough")
    rng = rng_for("net", hidden, loss_name, dtype.__name__, drop)
    units = np.array(UNITS, dtype=np.int64)
    n, cap = 6, 8
    out_code, _ = loss_codes(loss_name)
    X = make_X(rng, n, UNITS[0]).astype(dtype)
    Y = make_targets(rng, loss_name, n, UNITS[-1]).astype(dtype)
    sw = make_weights(rng, n).astype(dtype)
    params = make_params(rng, UNITS).astype(dtype)
    alpha = dtype(0.1)
    width = sum(UNITS[1:])
    acts = np.full(cap * width, np.nan, dtype=dtype)
    dacts = np.full(cap * width, np.nan, dtype=dtype)
    deltas = np.full(cap * width, np.nan, dtype=dtype)
    rates = np.zeros(len(UNITS) - 2) if drop is None else np.array(drop)
    seed, row0 = 31, 17

    out = K.forward_pass(acts, dacts, X, params, units, cap, codes.ACTIVATIONS[hidden],
                         dtype(SLOPE), out_code, rates, seed, row0)
    coefs, intercepts = ref_net(params, UNITS)
    net = dict(slope=float(dtype(SLOPE)), drop=drop, seed=seed, row0=row0)
    r_acts = ref.forward(coefs, intercepts, f64(X), hidden, ref.OUTPUT_FOR_LOSS[loss_name],
                         **net)
    for l in range(1, len(UNITS)):
        assert_close(block(acts, UNITS, cap, l, n), r_acts[l], dtype, err_msg=f"layer {l}")
    assert_close(out, r_acts[-1], dtype)

    hd = dtype(HUBER_DELTA)
    K.output_delta(block(deltas, UNITS, cap, len(UNITS) - 1, n), out, Y, sw, dtype(1.0),
                   codes.LOSSES[loss_name], hd)
    grad = np.full(params.shape[0], np.nan, dtype=dtype)
    K.backward_pass(grad, deltas, acts, dacts, X, params, units, cap)
    sw_sum = f64(sw).sum()
    _, cg, ig = ref.backprop(coefs, intercepts, f64(X), f64(Y), f64(sw), hidden,
                             ref.OUTPUT_FOR_LOSS[loss_name], loss_name, 0.0,
                             huber_delta=float(hd), **net)
    assert_close(grad, ref.pack(cg, ig) * sw_sum, dtype)  # raw sums: no penalty, no division

    n_coef = K.n_params(units) - sum(UNITS[1:])
    K.finish_grad(grad, params, n_coef, alpha, dtype(sw_sum))
    _, cg, ig = ref.backprop(coefs, intercepts, f64(X), f64(Y), f64(sw), hidden,
                             ref.OUTPUT_FOR_LOSS[loss_name], loss_name, float(alpha),
                             huber_delta=float(hd), **net)
    assert_close(grad, ref.pack(cg, ig), dtype)


# -- full batch: loss_grad and predict --------------------------------------------


def _full_batch_case(tag, hidden, loss_name, dtype, n=11):
    rng = rng_for(tag, hidden, loss_name, dtype.__name__)
    X = make_X(rng, n, UNITS[0]).astype(dtype)
    Y = make_targets(rng, loss_name, n, UNITS[-1]).astype(dtype)
    SW = make_weights(rng, n).astype(dtype)
    params = make_params(rng, UNITS).astype(dtype)
    return X, Y, SW, params


def _loss_grad(params, X, Y, SW, hidden, loss_name, alpha, delta_scale, chunk, sparse=False,
               work=None):
    dtype = params.dtype.type
    out_code, loss_code = loss_codes(loss_name)
    grad = np.full(params.shape[0], np.nan, dtype=dtype)
    value = K.loss_grad(grad, params, *kernel_X(X, dtype, sparse), Y, SW,
                        np.array(UNITS, dtype=np.int64), codes.ACTIVATIONS[hidden], dtype(SLOPE),
                        out_code, loss_code, dtype(HUBER_DELTA), dtype(alpha), dtype(delta_scale),
                        chunk, work)
    return value, grad


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_loss_grad_reuses_its_work_buffers(sparse):
    """A work dict kept across calls gives the results of fresh buffers, its
    buffers reused while the chunk shape stays and remade when it changes."""
    X, Y, SW, params = _full_batch_case("lossgrad-work", "relu", "log_loss", np.float64)
    work = {}
    chunks = (4, 4, 3, 100, 4)
    for i, chunk in enumerate(chunks):
        expected = _loss_grad(params, X, Y, SW, "relu", "log_loss", 0.05, 1.0, chunk, sparse)
        before = work.get("buffers")
        got = _loss_grad(params, X, Y, SW, "relu", "log_loss", 0.05, 1.0, chunk, sparse, work)
        assert got[0] == expected[0]
        np.testing.assert_array_equal(got[1], expected[1])
        params = params * 1.01  # the next call's buffers hold this call's values
        if i > 0:
            assert (work["buffers"] is before) == (chunk == chunks[i - 1])


def _ref_backprop(params, X, Y, SW, hidden, loss_name, alpha):
    """The reference's (loss, coef_grads, intercept_grads) with this file's
    leaky_relu slope and Huber threshold, at the kernel dtype's values."""
    dtype = params.dtype.type
    coefs, intercepts = ref_net(params, UNITS)
    return ref.backprop(coefs, intercepts, f64(X), f64(Y), f64(SW), hidden,
                        ref.OUTPUT_FOR_LOSS[loss_name], loss_name, float(alpha),
                        huber_delta=float(dtype(HUBER_DELTA)), slope=float(dtype(SLOPE)))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_loss_grad(hidden, loss_name, dtype, sparse):
    """n=11 rows in chunks of 4: three chunks, the last one partial."""
    X, Y, SW, params = _full_batch_case("lossgrad", hidden, loss_name, dtype)
    alpha = dtype(0.05)
    value, grad = _loss_grad(params, X, Y, SW, hidden, loss_name, alpha, 1.0, chunk=4,
                             sparse=sparse)
    r_value, cg, ig = _ref_backprop(params, X, Y, SW, hidden, loss_name, alpha)
    assert_close(value, r_value, dtype)
    assert_close(grad, ref.pack(cg, ig), dtype)


@pytest.mark.parametrize("chunk", [1, 3, 11, 100])
def test_loss_grad_chunking_does_not_matter(chunk):
    X, Y, SW, params = _full_batch_case("lossgrad-chunk", "tanh", "log_loss", np.float64)
    value, grad = _loss_grad(params, X, Y, SW, "tanh", "log_loss", 0.05, 1.0, chunk=chunk)
    r_value, cg, ig = _ref_backprop(params, X, Y, SW, "tanh", "log_loss", 0.05)
    assert_close(value, r_value, np.float64)
    assert_close(grad, ref.pack(cg, ig), np.float64)


@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_loss_grad_matches_finite_differences(hidden, loss_name):
    """The kernel's gradient is the gradient of the loss it returns; for
    multi-output squared error that takes delta_scale = 1/n_outputs (with
    1, scikit-learn's gradient is n_outputs times too large, #8349)."""
    X, Y, SW, params = _full_batch_case("lossgrad-fd", hidden, loss_name, np.float64)
    n_out = UNITS[-1]
    scale = 1.0 / n_out if loss_name == "squared_error" else 1.0
    alpha = 0.05
    _, grad = _loss_grad(params, X, Y, SW, hidden, loss_name, alpha, scale, chunk=4)
    h = 1e-6
    numeric = np.empty_like(params)
    for k in range(params.shape[0]):
        pp = params.copy()
        pm = params.copy()
        pp[k] += h
        pm[k] -= h
        fp, _ = _loss_grad(pp, X, Y, SW, hidden, loss_name, alpha, scale, chunk=4)
        fm, _ = _loss_grad(pm, X, Y, SW, hidden, loss_name, alpha, scale, chunk=4)
        numeric[k] = (fp - fm) / (2 * h)
    # finite differences carry O(h^2) truncation and O(eps/h) round-off
    # error (~1e-10 here), hence a looser tolerance than kernel-vs-reference
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    if loss_name == "squared_error":
        _, sk_grad = _loss_grad(params, X, Y, SW, hidden, loss_name, alpha, 1.0, chunk=4)
        n_coef = sum(a * b for a, b in zip(UNITS[:-1], UNITS[1:]))
        # with delta_scale=1 the data part of the gradient is n_outputs times too large
        penalty = np.zeros_like(params)
        penalty[:n_coef] = alpha * params[:n_coef] / SW.sum()
        np.testing.assert_allclose(sk_grad - penalty, n_out * (grad - penalty),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("out_name", list(ref.OUTPUT_ACTIVATIONS))
@pytest.mark.parametrize("hidden", HIDDEN)
def test_predict(hidden, out_name, dtype, sparse):
    rng = rng_for("predict", hidden, out_name, dtype.__name__, sparse)
    n = 11
    X = make_X(rng, n, UNITS[0]).astype(dtype)
    params = make_params(rng, UNITS).astype(dtype)
    out = np.full((n, UNITS[-1]), np.nan, dtype=dtype)
    K.predict(out, *kernel_X(X, dtype, sparse), params, np.array(UNITS, dtype=np.int64),
              codes.ACTIVATIONS[hidden], dtype(SLOPE), codes.ACTIVATIONS[out_name], 4)
    coefs, intercepts = ref_net(params, UNITS)
    expected = ref.forward(coefs, intercepts, f64(X), hidden, out_name,
                           slope=float(dtype(SLOPE)))[-1]
    assert_close(out, expected, dtype)


# -- whole epochs ---------------------------------------------------------------


def _run_epochs(kernel, hidden, loss_name, dtype, solver, batch_size, sparse=False,
                n=11, n_epochs=2, zero_batch=False, drop=None, units=UNITS):
    """``n_epochs`` epochs of ``kernel`` and of the reference from the same
    weights and state, each epoch in its own random order (and dropout
    seed, with rates ``drop``). Returns the kernel's and the reference's
    (totals, params, state1, state2, t). ``units``: the network's widths."""
    name, solver_name, momentum, nesterov = solver
    rng = rng_for("epoch", hidden, loss_name, dtype.__name__, name, sparse,
                  zero_batch)
    X = make_X(rng, n, units[0]).astype(dtype)
    Y = make_targets(rng, loss_name, n, units[-1]).astype(dtype)
    SW = make_weights(rng, n).astype(dtype)
    orders = [rng.permutation(n).astype(np.int64) for _ in range(n_epochs)]
    if zero_batch:
        SW[orders[0][batch_size : 2 * batch_size]] = 0.0  # the whole second batch
    params = make_params(rng, units).astype(dtype)
    out_code, loss_code = loss_codes(loss_name)
    alpha = dtype(1e-2)
    # per-sample SGD with momentum diverges on some cases at 0.05
    lr = dtype(0.01 if solver_name == "adam" else (0.05 if batch_size > 1 else 0.02))
    b1, b2, eps = dtype(0.9), dtype(0.999), dtype(1e-8)
    solver_code = codes.SOLVERS[solver_name]
    seeds = [1000 + e for e in range(n_epochs)]
    rates = np.zeros(len(units) - 2) if drop is None else np.array(drop)

    # the reference, on float64 copies of the same values
    coefs, intercepts = ref_net(params, units)
    state = ref.init_optimizer(solver_name, coefs, intercepts)
    r_totals = []
    for order, seed in zip(orders, seeds):
        r_totals.append(ref.epoch(
            coefs, intercepts, state, f64(X), f64(Y), f64(SW), order, batch_size,
            hidden, ref.OUTPUT_FOR_LOSS[loss_name], loss_name, float(alpha), float(lr),
            momentum=float(dtype(momentum)), nesterov=nesterov,
            beta1=float(b1), beta2=float(b2), eps=float(eps),
            slope=float(dtype(SLOPE)), huber_delta=float(dtype(HUBER_DELTA)),
            drop=drop, seed=seed))
    L = len(coefs)
    if solver_name == "sgd":
        r_state = (state["velocities"], None, 0)
    else:
        r_state = (state["ms"], state["vs"], state["t"])
    r = (
        r_totals,
        ref.pack(coefs, intercepts),
        ref.pack(r_state[0][:L], r_state[0][L:]),
        None if r_state[1] is None else ref.pack(r_state[1][:L], r_state[1][L:]),
        r_state[2],
    )

    # the kernel, as fastnn/_training.py calls it
    state1 = np.zeros_like(params)
    state2 = np.zeros(params.shape[0] if solver_name == "adam" else 0, dtype=dtype)
    t = 0
    totals = []
    Xk = kernel_X(X, dtype, sparse)
    for order, seed in zip(orders, seeds):
        total, t = kernel(params, state1, state2, *Xk, Y, SW, order, batch_size,
                          np.array(units, dtype=np.int64), codes.ACTIVATIONS[hidden],
                          dtype(SLOPE), out_code, loss_code, dtype(HUBER_DELTA), alpha,
                          rates, seed, solver_code, lr, dtype(momentum), nesterov, b1, b2,
                          eps, t)
        totals.append(total)
    k = (totals, params, state1, None if solver_name == "sgd" else state2, t)
    return k, r


def _check_epochs(k, r, dtype, **tol):
    names = ("epoch losses", "params", "state1", "state2", "adam t")
    for name, a, b in zip(names, k, r):
        if name == "adam t":
            assert a == b
        elif b is not None:
            # assert_allclose takes nan == nan: a diverged run would prove nothing
            assert np.isfinite(b).all(), f"reference {name} not finite: the test case diverged"
            assert_close(a, b, dtype, err_msg=name, **tol)


def epoch_tol(dtype, solver):
    """float32 Adam epochs are compared at 1e-4 rather than 1e-5. A gradient
    component that nearly cancels (say ``a * delta + alpha * W`` ~ 1e-6)
    keeps a float32 relative error of ~1e-3, and Adam's first steps move a
    weight by ``lr * g / (|g| + eps / sqrt(1 - beta2))``, which for |g| near
    ``eps / sqrt(1 - beta2)`` ~ 3e-7 passes that relative error on to an
    absolute step error ~1e-5 (seen: 8e-6 on one weight after the first
    step, for the minibatch and the per-sample kernel alike, with the
    gradient itself right to float32 precision). SGD steps are linear in
    the gradient and stay within 1e-5."""
    if dtype == np.float32 and solver[1] == "adam":
        return dict(rtol=1e-4, atol=1e-4)
    return {}


@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_minibatch_epoch(hidden, loss_name, dtype, solver):
    """batch_size 4 on 11 rows: two full batches and one of 3."""
    k, r = _run_epochs(K.minibatch_epoch, hidden, loss_name, dtype, solver, batch_size=4)
    _check_epochs(k, r, dtype, **epoch_tol(dtype, solver))


@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_minibatch_epoch_sparse(dtype, solver):
    k, r = _run_epochs(K.minibatch_epoch, "relu", "log_loss", dtype, solver, batch_size=4,
                       sparse=True)
    _check_epochs(k, r, dtype, **epoch_tol(dtype, solver))


#: A network and batches that the mini-batch driver's team of threads
#: shares (compiled/pool.py): each member gets at least 16 rows of a
#: batch of 37 (but the last batch of 9, which runs whole) and at least
#: 2048 of the 5,875 parameters.
TEAM_UNITS = [40, 64, 48, 3]


@pytest.mark.parametrize("case", [
    ("relu", "log_loss", np.float64, SOLVERS[3], False, None),
    ("tanh", "squared_error", np.float32, SOLVERS[2], False, None),
    ("gelu", "log_loss", np.float64, SOLVERS[2], False, (0.5, 0.25)),
    ("logistic", "binary_log_loss", np.float32, SOLVERS[3], True, None),
], ids=["relu-f64-adam", "tanh-f32-nesterov", "gelu-dropout", "logistic-sparse"])
def test_minibatch_epoch_shared_by_the_team(case):
    """The products, the hidden layers' rows and the step shared by the
    fit's threads: the reference's epochs still, and the same on one
    thread (BLAS held to one: no team)."""
    hidden, loss_name, dtype, solver, sparse, drop = case
    if _pool.team_size() == 0:
        pytest.skip("one usable core or one BLAS thread here: no team to share the epoch")
    kw = dict(sparse=sparse, drop=drop, n=83, units=TEAM_UNITS)
    k, r = _run_epochs(K.minibatch_epoch, hidden, loss_name, dtype, solver, 37, **kw)
    assert _pool.last_size() == 1
    _check_epochs(k, r, dtype, **epoch_tol(dtype, solver))
    with threadpool_limits(1, "blas"):
        alone = _run_epochs(K.minibatch_epoch, hidden, loss_name, dtype, solver, 37, **kw)[0]
        assert _pool.last_size() == 0
    # BLAS may take another kernel for a block of rows than for the whole
    # product, and the penalty's sum adds its parts: the same up to rounding
    _check_epochs(k, alone, dtype, **epoch_tol(dtype, solver))


@pytest.mark.parametrize("solver", [SOLVERS[2], SOLVERS[3]], ids=[SOLVER_IDS[2], SOLVER_IDS[3]])
def test_minibatch_epoch_skips_zero_weight_batch(solver):
    """A batch whose weights are all zero takes no step and adds no loss
    (scikit-learn would raise ZeroDivisionError there)."""
    k, r = _run_epochs(K.minibatch_epoch, "tanh", "squared_error", np.float64, solver,
                       batch_size=4, zero_batch=True)
    _check_epochs(k, r, np.float64)
    if solver[1] == "adam":
        assert k[4] == 2 + 3  # epoch 1 skipped one of its three batches


@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss_name", LOSSES)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_sample_epoch(hidden, loss_name, dtype, solver):
    """The fused per-sample path (batch_size 1), zero-weight row included."""
    k, r = _run_epochs(K.sample_epoch, hidden, loss_name, dtype, solver, batch_size=1)
    _check_epochs(k, r, dtype, **epoch_tol(dtype, solver))
    if solver[1] == "adam":
        assert k[4] == 2 * (11 - 1)  # the zero-weight row takes no step


@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_sample_epoch_sparse(dtype, solver):
    k, r = _run_epochs(K.sample_epoch, "logistic", "binary_log_loss", dtype, solver,
                       batch_size=1, sparse=True)
    _check_epochs(k, r, dtype, **epoch_tol(dtype, solver))


@pytest.mark.parametrize("solver", SOLVERS, ids=SOLVER_IDS)
def test_sample_epoch_equals_minibatch_epoch_of_one(solver):
    """Both epoch kernels take the same steps for batch_size 1."""
    a = _run_epochs(K.sample_epoch, "relu", "poisson", np.float64, solver, batch_size=1)[0]
    b = _run_epochs(K.minibatch_epoch, "relu", "poisson", np.float64, solver, batch_size=1)[0]
    _check_epochs(a, b, np.float64)


@pytest.mark.parametrize("solver", [SOLVERS[0], SOLVERS[3]], ids=[SOLVER_IDS[0], SOLVER_IDS[3]])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("hidden", ["relu", "gelu"])
def test_epochs_with_dropout(hidden, batch_size, dtype, solver):
    """Dropout in both epoch kernels: the masks of each epoch's seed at each
    row's epoch position, as the reference draws them."""
    kernel = K.sample_epoch if batch_size == 1 else K.minibatch_epoch
    k, r = _run_epochs(kernel, hidden, "log_loss", dtype, solver, batch_size=batch_size,
                       drop=(0.5, 0.25))
    _check_epochs(k, r, dtype, **epoch_tol(dtype, solver))
    base = _run_epochs(kernel, hidden, "log_loss", dtype, solver, batch_size=batch_size)[0]
    assert not np.allclose(k[1], base[1])  # the masks did change the training


@pytest.mark.parametrize("solver", [SOLVERS[1], SOLVERS[3]], ids=[SOLVER_IDS[1], SOLVER_IDS[3]])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("batch_size", [1, 4])
def test_a_fits_epochs_bound_once_train_as_epoch_by_epoch(batch_size, dtype, solver):
    """The epochs of one fit (``minibatch_epochs``/``sample_epochs``: the
    arguments packed once) give the bits of one ``minibatch_epoch`` /
    ``sample_epoch`` call per epoch: each epoch reads the order as shuffled
    in place since, and its own seed (dropout), learning rate and step
    count."""
    name, solver_name, momentum, nesterov = solver
    rng = rng_for("bound", batch_size, dtype.__name__, name)
    n = 11
    X = make_X(rng, n, UNITS[0]).astype(dtype)
    Y = make_targets(rng, "log_loss", n, UNITS[-1]).astype(dtype)
    SW = make_weights(rng, n).astype(dtype)
    params0 = make_params(rng, UNITS).astype(dtype)
    units = np.array(UNITS, dtype=np.int64)
    out_code, loss_code = loss_codes("log_loss")
    hidden, drop = codes.ACTIVATIONS["tanh"], np.array([0.5, 0.25])
    fixed = (dtype(1e-2), drop, codes.SOLVERS[solver_name])
    opt = (dtype(momentum), nesterov, dtype(0.9), dtype(0.999), dtype(1e-8))
    epochs = [(rng.permutation(n).astype(np.int64), 1000 + e, dtype(0.01 / (e + 1)))
              for e in range(3)]

    def state():
        return (params0.copy(), np.zeros_like(params0),
                np.zeros(params0.shape[0] if solver_name == "adam" else 0, dtype=dtype))

    head = (units, hidden, dtype(SLOPE), out_code, loss_code, dtype(HUBER_DELTA))
    one, many = (K.sample_epoch, K.sample_epochs) if batch_size == 1 else (
        K.minibatch_epoch, K.minibatch_epochs)
    a, b = state(), state()
    Xk = kernel_X(X, dtype, False)
    t_a = 0
    results_a = []
    for order, seed, lr in epochs:
        total, t_a = one(*a, *Xk, Y, SW, order.copy(), batch_size, *head, *fixed[:2], seed,
                         fixed[2], lr, opt[0], opt[1], *opt[2:], t_a)
        results_a.append((total, t_a))
    order = np.empty(n, dtype=np.int64)
    epoch = many(*b, *Xk, Y, SW, order, batch_size, *head, *fixed, *opt)
    t_b = 0
    results_b = []
    for this_order, seed, lr in epochs:
        order[:] = this_order
        total, t_b = epoch(seed, lr, t_b)
        results_b.append((total, t_b))
    assert results_a == results_b
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], params0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_activation_forward_propagates_nan(name, dtype):
    """A NaN pre-activation stays NaN (the fit then fails loudly instead of
    training on a silently clipped value)."""
    z = np.array([[np.nan, 1.0, -1.0]], dtype=dtype)
    K.activation_forward(z, z[:0, :0], codes.ACTIVATIONS[name], dtype(SLOPE))
    assert np.isnan(z[0, 0])

