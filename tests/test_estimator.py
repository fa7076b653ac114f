"""Behaviour a scikit-learn user relies on: meta-estimators, pickling,
sparse and pandas input, dtypes, verbose output, warnings, Ctrl-C, and the
lbfgs objective."""

import io
import pickle
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.neural_network as sk
from numpy.testing import assert_almost_equal
from scipy.optimize import check_grad
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastnn
from fastnn import MLPClassifier, MLPRegressor
from fastnn import _training
from fastnn._params import pack

Xc, yc = make_classification(120, 6, n_informative=4, n_classes=3, random_state=0)
Xr, yr = make_regression(120, 6, n_targets=3, noise=0.1, random_state=0)
yr = yr / yr.std()


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


def test_pipeline_gridsearch_clone():
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=30, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    quiet(grid.fit, Xc, yc)
    assert grid.best_score_ > 0.5
    est = clone(grid.best_estimator_[-1])
    assert not hasattr(est, "coefs_")


@pytest.mark.parametrize("Est,X,y", [(MLPClassifier, Xc, yc), (MLPRegressor, Xr, yr)])
def test_pickle_roundtrip_predicts_identically(Est, X, y):
    est = quiet(Est(max_iter=20, random_state=0).fit, X, y)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    # the optimizer state survives too: partial_fit continues identically
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.coefs_[0], est.coefs_[0])


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver,batch_size", [("adam", 16), ("sgd", 1), ("lbfgs", "auto")])
def test_sparse_input_matches_dense(fmt, solver, batch_size):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((80, 10)) * (rng.uniform(size=(80, 10)) < 0.3)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    params = dict(solver=solver, batch_size=batch_size, max_iter=5, random_state=0,
                  hidden_layer_sizes=(8,))
    dense = quiet(MLPClassifier(**params).fit, X, y)
    sparse = quiet(MLPClassifier(**params).fit, sp.csr_matrix(X).asformat(fmt), y)
    for a, b in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X).asformat(fmt)), dense.predict_proba(X), rtol=1e-9
    )


def test_pandas_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(Xc, columns=[f"f{i}" for i in range(Xc.shape[1])])
    clf = quiet(MLPClassifier(max_iter=5).fit, df, yc)
    np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(Xc)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_float32_stays_float32(solver):
    X = Xr.astype(np.float32)
    est = quiet(MLPRegressor(solver=solver, max_iter=5, random_state=0).fit, X, yr)
    assert all(c.dtype == np.float32 for c in est.coefs_ + est.intercepts_)
    assert est.predict(X).dtype == np.float32
    assert est.predict(Xr).dtype == np.float64  # float64 input: float64 output


def test_coefs_are_views_of_one_buffer():
    est = quiet(MLPRegressor(hidden_layer_sizes=(4, 3), max_iter=2).fit, Xr, yr)
    base = est.coefs_[0].base
    assert base is not None
    assert all(a.base is base for a in est.coefs_ + est.intercepts_)


def test_predict_in_chunks_matches_one_pass(monkeypatch):
    est = quiet(MLPClassifier(max_iter=5, random_state=0).fit, Xc, yc)
    whole = est.predict_proba(Xc)
    monkeypatch.setattr("fastnn._backend.CHUNK_ROWS", 7)
    np.testing.assert_allclose(est.predict_proba(Xc), whole, rtol=1e-12)
    np.testing.assert_allclose(np.exp(est.predict_log_proba(Xc)), whole, rtol=1e-12)
    np.testing.assert_allclose(whole.sum(axis=1), 1.0)


def test_binary_and_multilabel_outputs():
    yb = (yc > 0).astype(int)
    clf = quiet(MLPClassifier(max_iter=10).fit, Xc, yb)
    assert clf.out_activation_ == "logistic" and clf.predict_proba(Xc).shape == (120, 2)
    Y = np.column_stack([yc == 0, yc == 1, Xc[:, 0] > 0]).astype(int)
    clf = quiet(MLPClassifier(max_iter=10).fit, Xc, Y)
    assert clf.predict(Xc).shape == (120, 3) and clf.n_outputs_ == 3


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_lines_match_sklearn(early_stopping):
    params = dict(max_iter=3, random_state=0, verbose=True, early_stopping=early_stopping)
    outputs = []
    for Est in (sk.MLPClassifier, MLPClassifier):
        buf = io.StringIO()
        with redirect_stdout(buf):
            quiet(Est(**params).fit, Xc, yc)
        outputs.append(buf.getvalue())
    assert outputs[0] == outputs[1]
    assert "Iteration 3, loss = " in outputs[1]


def test_convergence_warning():
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\) reached"):
        MLPClassifier(max_iter=2).fit(Xc, yc)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier(solver="lbfgs", max_iter=2).fit(Xc, yc)


def test_keyboard_interrupt_keeps_last_completed_epoch(monkeypatch):
    params = dict(max_iter=10, random_state=0, solver="sgd", tol=0, n_iter_no_change=100)
    reference = quiet(MLPClassifier(**{**params, "max_iter": 2}).fit, Xc, yc)

    from fastnn.kernels import cpu as cpu_kernels

    real_epochs = cpu_kernels.minibatch_epochs
    calls = []

    def interrupted_epochs(*args):
        real_epoch = real_epochs(*args)

        def epoch(*values):
            calls.append(1)
            if len(calls) == 3:
                real_epoch(*values)  # the third epoch runs, then Ctrl-C arrives
                raise KeyboardInterrupt
            return real_epoch(*values)

        return epoch

    monkeypatch.setattr(cpu_kernels, "minibatch_epochs", interrupted_epochs)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est = quiet(MLPClassifier(**params).fit, Xc, yc)
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    np.testing.assert_array_equal(est.coefs_[0], reference.coefs_[0])
    assert est.score(Xc, yc) == reference.score(Xc, yc)


def test_keyboard_interrupt_while_saving_keeps_that_epoch(monkeypatch):
    """Ctrl-C while the state after epoch 3 is being copied aside (the copy
    half done) leaves the model exactly as after epoch 3."""
    params = dict(max_iter=10, random_state=0, solver="adam", tol=0, n_iter_no_change=100)
    reference = quiet(MLPClassifier(**{**params, "max_iter": 3}).fit, Xc, yc)

    from fastnn._backend import CPUBackend

    real_copy_into = CPUBackend.copy_into
    calls = []

    def interrupted_copy_into(self, dst, src):
        calls.append(1)
        real_copy_into(self, dst, src)  # epoch k's save is calls 3k-2 .. 3k
        if len(calls) == 3 * 3 - 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(CPUBackend, "copy_into", interrupted_copy_into)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est = quiet(MLPClassifier(**params).fit, Xc, yc)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    np.testing.assert_array_equal(est.coefs_[0], reference.coefs_[0])
    np.testing.assert_array_equal(est._optimizer.moment2, reference._optimizer.moment2)
    assert est._optimizer.t == reference._optimizer.t


def _off_line(a):
    """A copy of ``a`` whose data start 16 bytes into a cache line, as
    NumPy's allocations may."""
    buf = np.empty(a.nbytes + 128, dtype=np.uint8)
    start = -buf.ctypes.data % 64 + 16
    out = buf[start : start + a.nbytes].view(a.dtype)
    out[:] = a
    return out


def test_aligned_copies_only_what_starts_off_a_cache_line():
    from fastnn.kernels.cpu import aligned

    a = np.arange(37, dtype=np.float32)
    moved = aligned(_off_line(a))
    assert moved.ctypes.data % 64 == 0 and moved.dtype == a.dtype
    np.testing.assert_array_equal(moved, a)
    assert aligned(moved) is moved


@pytest.mark.parametrize("batch_size, solver", [(1, "sgd"), (16, "adam")])
def test_epochs_train_on_buffers_that_start_on_a_cache_line(monkeypatch, batch_size, solver):
    """The parameters and optimizer state reach the epoch kernels on a
    64-byte line (the vector loops then never split an access over two
    lines), whatever line the model's own arrays start on; the model and
    its state come out the same, and in its own arrays."""
    from fastnn.kernels import cpu as cpu_kernels

    params = dict(hidden_layer_sizes=(9,), batch_size=batch_size, solver=solver,
                  random_state=0)
    reference = quiet(MLPClassifier(**params).partial_fit, Xc, yc, classes=[0, 1, 2])
    reference = quiet(reference.partial_fit, Xc, yc)
    est = quiet(MLPClassifier(**params).partial_fit, Xc, yc, classes=[0, 1, 2])
    opt = est._optimizer
    opt.moment1 = _off_line(opt.moment1)
    if opt.moment2.size:
        opt.moment2 = _off_line(opt.moment2)
    starts = []
    kind = "sample_epochs" if batch_size == 1 else "minibatch_epochs"
    real = getattr(cpu_kernels, kind)

    def recording(params, moment1, moment2, *args):
        starts.extend(a.ctypes.data % 64 for a in (params, moment1, moment2) if a.size)
        return real(params, moment1, moment2, *args)

    monkeypatch.setattr(cpu_kernels, kind, recording)
    quiet(est.partial_fit, Xc, yc)
    assert starts and set(starts) == {0}
    for a, b in zip(est.coefs_ + est.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(est._optimizer.moment1, reference._optimizer.moment1)
    np.testing.assert_array_equal(est._optimizer.moment2, reference._optimizer.moment2)
    assert est.loss_curve_ == reference.loss_curve_


def test_lbfgs_multioutput_gradient_matches_its_loss():
    """scikit-learn#8349: for multi-output squared error sklearn's lbfgs
    gradient is n_outputs times that of its loss. fastnn's gradient is
    the derivative of the loss it reports."""
    est = quiet(MLPRegressor(solver="lbfgs", hidden_layer_sizes=(5,), max_iter=3,
                             random_state=0, alpha=0.1).fit, Xr, yr)
    captured = {}
    real_minimize = _training.scipy.optimize.minimize

    def capture(fun, x0, **kwargs):
        captured["fun"] = fun
        return real_minimize(fun, x0, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_training.scipy.optimize, "minimize", capture)
        quiet(clone(est).fit, Xr, yr)
    fun = captured["fun"]
    x = pack(est.coefs_, est.intercepts_, np.float64)
    err = check_grad(lambda p: fun(p)[0], lambda p: fun(p)[1], x, epsilon=1e-6)
    assert err < 1e-6 * max(1.0, np.linalg.norm(fun(x)[1]))
    # and the loss itself is sklearn's definition of it
    ref = sk.MLPRegressor(solver="lbfgs", hidden_layer_sizes=(5,), alpha=0.1)
    quiet(ref.fit, Xr, yr)  # fitted only to set up sklearn's internals
    ref.coefs_ = [c.copy() for c in est.coefs_]
    ref.intercepts_ = [b.copy() for b in est.intercepts_]
    ref._random_state = np.random.RandomState(0)
    acts = [Xr] + [None] * 2
    loss, _, _ = ref._backprop(Xr, yr, None, acts, [None] * 2,
                               [np.empty((6, 5)), np.empty((5, 3))], [np.empty(5), np.empty(3)])
    assert fun(x)[0] == pytest.approx(loss, rel=1e-10)


def test_partial_fit_counts_like_sklearn():
    ref = sk.MLPClassifier(random_state=0)
    ours = MLPClassifier(random_state=0)
    for _ in range(3):
        ref.partial_fit(Xc, yc, classes=[0, 1, 2])
        ours.partial_fit(Xc, yc, classes=[0, 1, 2])
    assert (ours.n_iter_, ours.t_) == (ref.n_iter_, ref.t_)
    assert len(ours.loss_curve_) == len(ref.loss_curve_) == 3


def test_version():
    assert fastnn.__version__


def test_kernels_installed_under_fastnn_only(tmp_path):
    """kernels/ installs as fastnn.kernels; no top-level ``kernels`` module."""
    import subprocess
    import sys

    code = (
        "import importlib.util, fastnn.kernels\n"
        "assert importlib.util.find_spec('kernels') is None\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)


@pytest.mark.parametrize("hidden", [(), 3])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_no_or_int_hidden_layers_match_sklearn(hidden, solver):
    params = dict(hidden_layer_sizes=hidden, solver=solver, max_iter=5, random_state=0)
    ref = quiet(sk.MLPClassifier(**params).fit, Xc, yc)
    ours = quiet(MLPClassifier(**params).fit, Xc, yc)
    for a, b in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


def test_predict_converts_other_dtypes_in_blocks(monkeypatch):
    est = quiet(MLPRegressor(max_iter=5, random_state=0).fit, Xr, yr)
    whole = est.predict(Xr.astype(np.float32))
    monkeypatch.setattr("fastnn._mlp.CONVERT_ROWS", 7)
    # BLAS may sum in another order for other row counts
    np.testing.assert_allclose(est.predict(Xr.astype(np.float32)), whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(est.predict(np.round(Xr * 10).astype(int)),
                               est.predict(np.round(Xr * 10)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "multilabel-sparse"])
def test_targets_binarized_in_chunks_as_a_whole(kind):
    """The targets are binarized a chunk of rows at a time (no int64 copy of
    them all); the result is the binarizer's own, including for a chunk
    that holds fewer classes than the whole."""
    from sklearn.preprocessing import LabelBinarizer

    from fastnn._mlp import _binarized

    rng = np.random.default_rng(0)
    y = {"binary": np.r_[np.zeros(7), rng.integers(0, 2, 30)].astype(int),
         "multiclass": np.r_[np.full(7, 3), rng.integers(0, 4, 30)],
         }.get(kind, (rng.random((37, 3)) > 0.5).astype(int))
    if kind == "multilabel-sparse":
        y = sp.csr_matrix(y)
    lb = LabelBinarizer().fit(y)
    for dtype in (np.float32, np.float64):
        Y = _binarized(lb, y, dtype, chunk=7)
        assert Y.dtype == dtype
        np.testing.assert_array_equal(Y, lb.transform(y).astype(dtype))


def test_weights_assigned_by_hand_are_trained():
    """scikit-learn's test_fit: coefs_/intercepts_ (and a few attributes)
    set by hand, then partial_fit; one SGD step from those weights."""
    X1, y1 = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    mlp = MLPClassifier(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic",
                        random_state=1, max_iter=1, hidden_layer_sizes=2, momentum=0)
    mlp.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([[0.1], [0.2]])]
    mlp.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    mlp.partial_fit(X1, y1, classes=[0, 1])
    # scikit-learn's worked example
    assert_almost_equal(mlp.coefs_[0], np.array([[0.098, 0.195756], [0.2956664, 0.096008],
                                                 [0.4939998, -0.002244]]), decimal=3)
    assert_almost_equal(mlp.coefs_[1], np.array([[0.04706], [0.154089]]), decimal=3)
    assert_almost_equal(mlp.intercepts_[0], np.array([0.098333, 0.09626]), decimal=3)
    assert_almost_equal(mlp.intercepts_[1], np.array(0.9235), decimal=3)
    assert mlp.n_iter_ == 1 and mlp.n_features_in_ == 3


def test_warm_start_trains_a_custom_initialization():
    Xw = np.random.RandomState(0).standard_normal((50, 3))
    yw = Xw @ [1.0, -2.0, 0.5]
    est = MLPRegressor(hidden_layer_sizes=(4,), warm_start=True, max_iter=5, random_state=0)
    est.coefs_ = [np.full((3, 4), 0.1), np.full((4, 1), 0.1)]
    est.intercepts_ = [np.zeros(4), np.zeros(1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(Xw, yw)
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    # trained from those weights: every hidden unit still equal to the others
    np.testing.assert_allclose(est.coefs_[0], est.coefs_[0][:, :1].repeat(4, axis=1))


@pytest.mark.parametrize("model_dtype,batch_dtype", [(np.float64, np.float32),
                                                     (np.float32, np.float64)])
def test_partial_fit_keeps_the_models_dtype(model_dtype, batch_dtype):
    Xp = np.random.RandomState(0).standard_normal((60, 3))
    yp = (Xp[:, 0] > 0).astype(int)
    est = MLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    est.partial_fit(Xp.astype(model_dtype), yp, classes=[0, 1])
    est.partial_fit(Xp.astype(batch_dtype), yp)
    assert all(c.dtype == model_dtype for c in est.coefs_ + est.intercepts_)
    assert est._optimizer.moment1.dtype == model_dtype


@pytest.mark.parametrize("in_place", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_sparse_first_layer_matches_dense_in_chunks(monkeypatch, in_place, dtype, solver):
    """Sparse rows feed the first layer in place, or gathered dense where X
    is dense enough: either way the same model as dense input, for both
    dtypes, several layers, and chunks of a few rows. (In place, the
    mini-batch epochs clear only the gradient rows of a batch's columns
    after its step: a row left over from an earlier batch fails this.)"""
    from fastnn.kernels import cpu

    monkeypatch.setattr(cpu.sparse, "IN_PLACE_DENSITY", 1.0 if in_place else 0.0)
    monkeypatch.setattr("fastnn._backend.CHUNK_ROWS", 7)
    rng = np.random.RandomState(1)
    X = (rng.standard_normal((60, 30)) * (rng.uniform(size=(60, 30)) < 0.1)).astype(dtype)
    X[5] = 0.0  # a row with no stored entry
    y = rng.randint(0, 3, 60)
    params = dict(solver=solver, hidden_layer_sizes=(6, 5), max_iter=4, random_state=0,
                  batch_size=16)
    dense = quiet(MLPClassifier(**params).fit, X, y)
    sparse = quiet(MLPClassifier(**params).fit, sp.csr_matrix(X), y)
    tol = dict(rtol=2e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)
    for a, b in zip(dense.coefs_ + dense.intercepts_, sparse.coefs_ + sparse.intercepts_):
        assert b.dtype == dtype
        np.testing.assert_allclose(b, a, **tol)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X),
                               **tol)


def test_wide_sparse_input_is_never_densified():
    """Hashed text features: 2**20 columns, 40 stored entries a row. The
    memory of predict and of training grows with the non-zeros and the
    weights, not with rows x columns (a dense batch of 200 rows would be
    1.6 GB, a predict chunk of 4096 rows 34 GB)."""
    import tracemalloc

    rng = np.random.RandomState(0)
    n, d, k = 600, 2**20, 40
    cols = np.sort(rng.randint(0, d, size=(n, k)), axis=1).ravel()
    X = sp.csr_matrix((rng.rand(n * k), cols, np.arange(n + 1) * k), shape=(n, d))
    X.sum_duplicates()
    y = rng.randint(0, 2, n)
    est = MLPClassifier(hidden_layer_sizes=(2,), max_iter=2, random_state=0)
    quiet(est.fit, X[:50], y[:50])  # compiled, so the traced part is the fit itself
    weights = sum(c.nbytes for c in est.coefs_)  # 16 MiB
    lbfgs = MLPClassifier(hidden_layer_sizes=(2,), solver="lbfgs", max_iter=2)
    # Allowed: the parameters, the optimizer state and their copies, X's
    # copies; for lbfgs, SciPy's 2 x 10 history vectors of the parameters
    # too. A dense chunk of X's rows would be 600 x 2**20 x 8 bytes, 5 GB.
    for run, bound in ((lambda: quiet(est.fit, X, y), 12), (lambda: est.predict(X), 12),
                       (lambda: quiet(lbfgs.fit, X, y), 50)):
        tracemalloc.start()
        try:
            run()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < bound * weights + 10 * X.data.nbytes, (bound, peak)
