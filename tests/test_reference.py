"""Checks of the oracle itself (tests/reference.py).

Its gradients are checked against central finite differences of its own loss,
and its training epoch against scikit-learn's own estimators taking the same
steps from the same weights (shuffle=False). With both in place, a kernel that
agrees with the reference agrees with scikit-learn and with calculus.
"""

import warnings
import zlib

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import LabelBinarizer

import reference as ref  # tests/ is on sys.path (pytest's rootdir-relative import)

LOSS_CASES = [(loss, ref.OUTPUT_FOR_LOSS[loss]) for loss in ref.LOSSES]


def make_problem(rng, loss_name, n=9, n_in=4, n_out=3):
    """Inputs and targets valid for ``loss_name``: real targets for squared
    error, non-negative counts (with zeros) for Poisson, one-hot rows for
    log_loss (its gradient is ``p - y`` only when each row of y sums to 1),
    0/1 and fractional targets for binary log loss."""
    X = rng.normal(size=(n, n_in))
    if loss_name in ("squared_error", "absolute_error", "huber"):
        Y = rng.normal(size=(n, n_out))
    elif loss_name == "poisson":
        Y = rng.poisson(1.5, size=(n, n_out)).astype(float)
    elif loss_name == "log_loss":
        Y = np.eye(n_out)[rng.integers(0, n_out, size=n)]
    else:
        Y = rng.integers(0, 2, size=(n, n_out)).astype(float)
        Y[0, 0] = 0.25
    return X, Y


def make_net(rng, units, scale=0.6):
    coefs = [rng.uniform(-scale, scale, (a, b)) for a, b in zip(units[:-1], units[1:])]
    intercepts = [rng.uniform(-scale, scale, b) for b in units[1:]]
    return coefs, intercepts


def central_differences(f, x, h=1e-6):
    g = np.empty_like(x)
    for k in range(x.shape[0]):
        xp = x.copy()
        xm = x.copy()
        xp[k] += h
        xm[k] -= h
        g[k] = (f(xp) - f(xm)) / (2 * h)
    return g


# -- pieces ------------------------------------------------------------------


def test_pack_unpack_round_trip():
    rng = np.random.default_rng(0)
    units = [3, 4, 2]
    coefs, intercepts = make_net(rng, units)
    flat = ref.pack(coefs, intercepts)
    assert flat.shape == (3 * 4 + 4 * 2 + 4 + 2,)
    # scikit-learn's _pack: coefs first, each raveled in C order, then intercepts
    np.testing.assert_array_equal(flat[:12], coefs[0].ravel())
    np.testing.assert_array_equal(flat[20:24], intercepts[0])
    c2, b2 = ref.unpack(flat, units)
    for a, b in zip(coefs + intercepts, c2 + b2):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError):
        ref.unpack(flat[:-1], units)


@pytest.mark.parametrize("name", ref.HIDDEN_ACTIVATIONS)
def test_activation_derivative_matches_finite_differences(name):
    rng = np.random.default_rng(1)
    # keep pre-activations away from relu's kink
    z = rng.uniform(0.1, 2.0, size=(5, 3)) * rng.choice([-1, 1], size=(5, 3))
    h = 1e-6
    numeric = (ref.activation(name, z + h, 0.2) - ref.activation(name, z - h, 0.2)) / (2 * h)
    analytic = ref.activation_derivative(name, z, 0.2)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


def test_new_activations_values():
    z = np.array([[-2.0, 0.0, 1.5]])
    np.testing.assert_allclose(ref.activation("leaky_relu", z, 0.1), [[-0.2, 0.0, 1.5]])
    # gelu(z) = z * Phi(z): Phi(-2) = 0.02275..., Phi(1.5) = 0.93319...
    np.testing.assert_allclose(ref.activation("gelu", z),
                               [[-2 * 0.022750131948179, 0.0, 1.5 * 0.933192798731142]])
    np.testing.assert_allclose(ref.activation("silu", z), z / (1 + np.exp(-z)))


def test_dropout_mask_rate_and_independence():
    keep = ref.dropout_mask(7, np.arange(2000), np.arange(50), 0.3)
    assert keep.shape == (2000, 50)
    assert abs(1 - keep.mean() - 0.3) < 0.01
    # neighbouring rows and units are not correlated
    assert abs(np.corrcoef(keep[:-1].ravel(), keep[1:].ravel())[0, 1]) < 0.02
    assert abs(np.corrcoef(keep[:, :-1].ravel(), keep[:, 1:].ravel())[0, 1]) < 0.02
    other = ref.dropout_mask(8, np.arange(2000), np.arange(50), 0.3)
    assert 0.35 < (keep != other).mean() < 0.49  # another seed, another mask (2pq = 0.42)
    assert ref.dropout_mask(7, [0], [0], 0.0).all()


def test_dropout_backprop_matches_finite_differences():
    """With the masks fixed by the seed, the dropped-out network is a
    deterministic function of the weights; its gradient is exact."""
    rng = np.random.default_rng(11)
    units = [4, 6, 5, 2]
    X, Y = make_problem(rng, "squared_error", n_out=2)
    coefs, intercepts = make_net(rng, units)
    net = dict(drop=[0.5, 0.25], seed=123, row0=40, slope=0.01)
    value, cg, ig = ref.backprop(coefs, intercepts, X, Y, None, "tanh", "identity",
                                 "squared_error", 0.1, 0.5, **net)
    acts = ref.forward(coefs, intercepts, X, "tanh", "identity", **net)
    assert (acts[1] == 0).any() and (acts[2] == 0).any()

    def f(flat):
        c, b = ref.unpack(flat, units)
        return ref.objective(c, b, X, Y, None, "tanh", "identity", "squared_error", 0.1, **net)

    flat = ref.pack(coefs, intercepts)
    assert value == pytest.approx(f(flat), rel=1e-14)
    np.testing.assert_allclose(ref.pack(cg, ig), central_differences(f, flat),
                               rtol=1e-6, atol=1e-8)


def test_activations_values():
    z = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_allclose(ref.activation("logistic", z), 1 / (1 + np.exp(-z)))
    np.testing.assert_array_equal(ref.activation("relu", z), [[0.0, 0.0, 2.0]])
    sm = ref.activation("softmax", z)
    np.testing.assert_allclose(sm, np.exp(z) / np.exp(z).sum())
    # softmax is shift invariant and safe for large inputs
    np.testing.assert_allclose(ref.activation("softmax", z + 1000.0), sm)
    np.testing.assert_allclose(ref.activation("exp", z), np.exp(z))
    # activation() does not write into its input
    z0 = z.copy()
    ref.activation("tanh", z)
    np.testing.assert_array_equal(z, z0)


def test_losses_against_formulas():
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    p = np.array([[0.7, 0.3], [0.2, 0.8], [0.4, 0.6]])
    sw = np.array([1.0, 2.0, 0.5])
    expected = -(1.0 * np.log(0.7) + 2.0 * np.log(0.8) + 0.5 * np.log(0.4)) / 3.5
    assert ref.loss(y, p, sw, "log_loss") == pytest.approx(expected, rel=1e-14)
    expected = 0.5 * np.sum(sw[:, None] * (y - p) ** 2) / 2 / 3.5
    assert ref.loss(y, p, sw, "squared_error") == pytest.approx(expected, rel=1e-14)
    per_row = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(axis=1)
    assert ref.loss(y, p, sw, "binary_log_loss") == pytest.approx(
        np.sum(sw * per_row) / 3.5, rel=1e-14)
    counts = np.array([[0.0, 2.0], [3.0, 1.0], [1.0, 0.0]])
    mu = np.array([[0.5, 1.5], [2.0, 1.0], [1.2, 0.1]])
    dev = np.where(counts > 0, counts * np.log(np.where(counts > 0, counts, 1) / mu), 0) - counts + mu
    assert ref.loss(counts, mu, None, "poisson") == pytest.approx(dev.sum(axis=1).mean(), rel=1e-14)
    # clipping at the dtype's eps: log(0) never happens
    assert np.isfinite(ref.loss(y, np.array([[0.0, 1.0]] * 3), None, "log_loss"))
    assert ref.loss(y[:, :1], np.zeros((3, 1)), None, "binary_log_loss") == pytest.approx(
        -np.log(np.finfo(float).eps) * 2 / 3)


# -- gradients against finite differences --------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss_name,out", LOSS_CASES)
@pytest.mark.parametrize("hidden", ref.HIDDEN_ACTIVATIONS)
def test_backprop_matches_finite_differences(hidden, loss_name, out, weighted):
    rng = np.random.default_rng(zlib.crc32(f"{hidden}-{loss_name}-{weighted}".encode()))
    n_out = 3
    units = [4, 5, 3, n_out]
    X, Y = make_problem(rng, loss_name, n_out=n_out)
    sw = rng.uniform(0.2, 2.0, size=X.shape[0]) if weighted else None
    if weighted:
        sw[2] = 0.0  # a zero weight is a row that does not count
    coefs, intercepts = make_net(rng, units)
    alpha = 0.3
    # multi-output squared error: the true gradient of the loss needs
    # delta_scale = 1/n_outputs (scikit-learn's delta lacks it, #8349)
    scale = 1.0 / n_out if loss_name == "squared_error" else 1.0

    value, cg, ig = ref.backprop(coefs, intercepts, X, Y, sw, hidden, out, loss_name, alpha, scale,
                                 huber_delta=0.7, slope=0.2)
    analytic = ref.pack(cg, ig)

    def f(flat):
        c, b = ref.unpack(flat, units)
        return ref.objective(c, b, X, Y, sw, hidden, out, loss_name, alpha, huber_delta=0.7,
                             slope=0.2)

    flat = ref.pack(coefs, intercepts)
    assert value == pytest.approx(f(flat), rel=1e-14)
    numeric = central_differences(f, flat)
    # central differences with h=1e-6: truncation O(h^2) and round-off
    # O(eps/h), both far below 1e-7
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_squared_error_multi_output_sklearn_gradient_is_n_outputs_too_large():
    """scikit-learn#8349, kept in the reference on purpose (delta_scale=1 is
    scikit-learn): for squared error the data part of the gradient is
    n_outputs times that of the loss."""
    rng = np.random.default_rng(3)
    units = [3, 4, 2]
    X, Y = make_problem(rng, "squared_error", n_in=3, n_out=2)
    coefs, intercepts = make_net(rng, units)
    _, cg1, ig1 = ref.backprop(coefs, intercepts, X, Y, None, "tanh", "identity",
                               "squared_error", 0.0, 1.0)
    _, cg2, ig2 = ref.backprop(coefs, intercepts, X, Y, None, "tanh", "identity",
                               "squared_error", 0.0, 0.5)
    np.testing.assert_allclose(ref.pack(cg1, ig1), 2 * ref.pack(cg2, ig2), rtol=1e-14)


def test_sample_weights_equal_repeated_rows():
    """Integer weights act as repeated rows, in the loss and the gradient."""
    rng = np.random.default_rng(4)
    units = [3, 4, 2]
    X, Y = make_problem(rng, "binary_log_loss", n=6, n_in=3, n_out=2)
    coefs, intercepts = make_net(rng, units)
    sw = np.array([1.0, 2.0, 0.0, 3.0, 1.0, 1.0])
    rep = np.repeat(np.arange(6), sw.astype(int))
    a = ref.backprop(coefs, intercepts, X, Y, sw, "relu", "logistic", "binary_log_loss", 0.1)
    b = ref.backprop(coefs, intercepts, X[rep], Y[rep], None, "relu", "logistic",
                     "binary_log_loss", 0.1)
    assert a[0] == pytest.approx(b[0], rel=1e-13)
    np.testing.assert_allclose(ref.pack(a[1], a[2]), ref.pack(b[1], b[2]), rtol=1e-12, atol=1e-14)


# -- optimizers -----------------------------------------------------------------


def test_sgd_and_adam_steps_by_hand():
    p = [np.array([1.0, -2.0])]
    v = [np.array([0.5, 0.0])]
    g = [np.array([0.1, -0.4])]
    ref.sgd_step(p, v, g, lr=0.1, momentum=0.9, nesterov=False)
    np.testing.assert_allclose(v[0], [0.44, 0.04])
    np.testing.assert_allclose(p[0], [1.44, -1.96])
    p = [np.array([1.0])]
    v = [np.array([0.5])]
    ref.sgd_step(p, v, [np.array([0.1])], lr=0.1, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(v[0], [0.44])
    np.testing.assert_allclose(p[0], [1.0 + 0.9 * 0.44 - 0.01])

    p = [np.array([1.0, 1.0])]
    m = [np.zeros(2)]
    s = [np.zeros(2)]
    t = ref.adam_step(p, m, s, [np.array([0.2, -3.0])], 0.01, 0.9, 0.999, 1e-8, 0)
    assert t == 1
    # the first Adam step moves each weight by about lr against its gradient's sign
    np.testing.assert_allclose(p[0], [0.99, 1.01], rtol=1e-6)


# -- the epoch against scikit-learn ---------------------------------------------


def _sklearn_epochs(est, X, y, sw, coefs, intercepts, n_epochs):
    """Run ``n_epochs`` epochs of scikit-learn's estimator from the given
    weights: a first fit initialises the estimator, then a warm-started fit
    (fresh optimizer, no re-initialisation) trains from our weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(max_iter=1, warm_start=True, shuffle=False, tol=0.0)
        est.fit(X, y, sample_weight=sw)
        assert [c.shape for c in est.coefs_] == [c.shape for c in coefs]
        est.coefs_ = [c.copy() for c in coefs]
        est.intercepts_ = [b.copy() for b in intercepts]
        est.set_params(max_iter=n_epochs)
        n_before = len(est.loss_curve_)
        est.fit(X, y, sample_weight=sw)
    return est, est.loss_curve_[n_before:]


SKLEARN_CASES = {
    "regressor-sgd-nesterov-tanh": dict(
        cls=MLPRegressor, loss="squared_error", hidden="tanh", solver="sgd",
        momentum=0.9, nesterov=True, batch_size=4, n_out=2),
    "regressor-poisson-sgd-plain-logistic": dict(
        cls=MLPRegressor, loss="poisson", hidden="logistic", solver="sgd",
        momentum=0.0, nesterov=False, batch_size=3, n_out=1),
    "multiclass-adam-relu": dict(
        cls=MLPClassifier, loss="log_loss", hidden="relu", solver="adam",
        momentum=0.9, nesterov=True, batch_size=5, n_out=3),
    "multilabel-sgd-momentum-identity": dict(
        cls=MLPClassifier, loss="binary_log_loss", hidden="identity", solver="sgd",
        momentum=0.8, nesterov=False, batch_size=4, n_out=2),
    "binary-adam-batch1-tanh": dict(
        cls=MLPClassifier, loss="binary_log_loss", hidden="tanh", solver="adam",
        momentum=0.9, nesterov=True, batch_size=1, n_out=1),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(SKLEARN_CASES))
def test_epoch_matches_sklearn(case, weighted):
    c = SKLEARN_CASES[case]
    rng = np.random.default_rng(7)
    n, n_in, hidden_sizes = 11, 4, (5, 3)
    X = rng.normal(size=(n, n_in))
    if c["cls"] is MLPRegressor:
        if c["loss"] == "poisson":
            y = rng.poisson(2.0, size=n).astype(float)
        else:
            y = rng.normal(size=(n, c["n_out"]))
        Y = y.reshape(n, -1)
        out = ref.OUTPUT_FOR_LOSS[c["loss"]]
        loss_param = c["loss"]
    else:
        if c["loss"] == "log_loss":
            y = np.arange(n) % 3  # three classes
            out = "softmax"
        elif c["n_out"] == 1:
            y = np.arange(n) % 2  # binary
            out = "logistic"
        else:
            y = np.stack([np.arange(n) % 2, (np.arange(n) // 2) % 2], axis=1)  # multilabel
            out = "logistic"
        lb = LabelBinarizer().fit(y)
        Y = lb.transform(y).astype(float)
        loss_param = "log_loss"
    sw = None
    if weighted:
        sw = rng.uniform(0.5, 2.0, size=n)
        if c["batch_size"] > 1:
            # a zero weight inside a batch with positive weights (a batch of
            # zero weight only makes scikit-learn raise ZeroDivisionError;
            # the reference and the kernels skip it)
            sw[1] = 0.0
    alpha, lr = 1e-2, 0.05
    est = c["cls"](
        hidden_layer_sizes=hidden_sizes, activation=c["hidden"], solver=c["solver"],
        alpha=alpha, batch_size=c["batch_size"], learning_rate_init=lr,
        momentum=c["momentum"], nesterovs_momentum=c["nesterov"], random_state=0,
        n_iter_no_change=1000,
    )
    if c["cls"] is MLPRegressor:
        est.set_params(loss=loss_param)
    units = [n_in, *hidden_sizes, Y.shape[1]]
    coefs, intercepts = make_net(rng, units)
    n_epochs = 3
    est, sk_losses = _sklearn_epochs(est, X, y, sw, coefs, intercepts, n_epochs)
    assert est.out_activation_ == out

    state = ref.init_optimizer(c["solver"], coefs, intercepts)
    order = np.arange(n)
    losses = []
    for _ in range(n_epochs):
        total = ref.epoch(coefs, intercepts, state, X, Y, sw, order, c["batch_size"],
                          c["hidden"], out, c["loss"], alpha, lr,
                          momentum=c["momentum"], nesterov=c["nesterov"])
        losses.append(total / n)
    np.testing.assert_allclose(losses, sk_losses, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ref.pack(coefs, intercepts),
                               ref.pack(est.coefs_, est.intercepts_), rtol=1e-11, atol=1e-13)
    if c["solver"] == "adam":
        batches = -(-n // c["batch_size"])
        assert state["t"] == est._optimizer.t == n_epochs * batches


def test_backprop_matches_sklearn_backprop():
    """One direct call of scikit-learn's private ``_backprop`` on a fitted
    estimator, including the multi-output squared error case."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(8, 3))
    Y = rng.normal(size=(8, 2))
    sw = rng.uniform(0.5, 1.5, size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPRegressor(hidden_layer_sizes=(4,), activation="relu", alpha=0.2,
                           max_iter=1, random_state=0).fit(X, Y)
    coefs = [c.copy() for c in est.coefs_]
    intercepts = [b.copy() for b in est.intercepts_]
    activations = [X] + [None] * 2
    deltas = [None] * 2
    cg = [np.empty_like(c) for c in coefs]
    ig = [np.empty_like(b) for b in intercepts]
    sk_loss, sk_cg, sk_ig = est._backprop(X, Y, sw, activations, deltas, cg, ig)
    value, rcg, rig = ref.backprop(coefs, intercepts, X, Y, sw, "relu", "identity",
                                   "squared_error", 0.2)
    assert value == pytest.approx(sk_loss, rel=1e-14)
    np.testing.assert_allclose(ref.pack(rcg, rig), ref.pack(sk_cg, sk_ig), rtol=1e-13, atol=1e-15)
