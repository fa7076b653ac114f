"""Same data, same parameters, same random_state: the same model as
scikit-learn 1.9.1 (initial weights, per-epoch shuffles and the
early-stopping split are drawn from the RandomState in sklearn's order)."""

import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk

import fastnn

N_SAMPLES = 50  # 7 does not divide it


def _problem(name, n=N_SAMPLES, dtype=np.float64):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((n, 4)).astype(dtype)
    if name == "binary":
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    elif name == "multiclass":
        y = np.digitize(X[:, 0] - X[:, 2], [-0.5, 0.5])
    elif name == "multilabel":
        y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.3]).astype(int)
    elif name in ("squared_error-1", "poisson-1"):
        y = X @ [0.3, -0.2, 0.1, 0.4] + 0.1 * rng.standard_normal(n)
    elif name in ("squared_error-3", "poisson-3"):
        y = X @ rng.standard_normal((4, 3)) * 0.3 + 0.1 * rng.standard_normal((n, 3))
    if name.startswith("poisson"):
        y = rng.poisson(np.exp(np.clip(y, -2, 2))).astype(float)
    return X, y


PROBLEMS = ["binary", "multiclass", "multilabel",
            "squared_error-1", "squared_error-3", "poisson-1", "poisson-3"]

OPTIMIZERS = {
    "sgd-plain-constant": dict(solver="sgd", momentum=0.0, learning_rate_init=0.05),
    "sgd-momentum-invscaling": dict(solver="sgd", nesterovs_momentum=False,
                                    learning_rate="invscaling", learning_rate_init=0.02),
    "sgd-nesterov-adaptive": dict(solver="sgd", learning_rate="adaptive", tol=0.5,
                                  n_iter_no_change=1, learning_rate_init=0.01),
    "sgd-nesterov-constant": dict(solver="sgd", learning_rate_init=0.01),
    "adam": dict(solver="adam", learning_rate_init=0.01),
}


def _pair(problem, **params):
    est = "Regressor" if problem[0] in "sp" else "Classifier"
    if problem.startswith("poisson"):
        params["loss"] = "poisson"
    params = {"hidden_layer_sizes": (5, 3), "max_iter": 5, "random_state": 0, **params}
    return getattr(sk, "MLP" + est)(**params), getattr(fastnn, "MLP" + est)(**params)


def _fit_both(problem, sample_weight=None, fit_params=None, **params):
    X, y = _problem(problem)
    ref, ours = _pair(problem, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ref.fit(X, y, sample_weight=sample_weight)
        except ValueError as exc:
            # Diverged: fastnn takes the same steps, so it must diverge too.
            with pytest.raises(ValueError, match="non-finite"):
                ours.fit(X, y, sample_weight=sample_weight)
            assert "non-finite" in str(exc)
            pytest.skip("both diverge (same error checked)")
        ours.fit(X, y, sample_weight=sample_weight)
    return ref, ours, X


def assert_same_model(ref, ours, rtol=1e-9):
    """coefs_/intercepts_ equal to ``rtol`` relative to each array's scale."""
    assert len(ref.coefs_) == len(ours.coefs_)
    for a, b in zip(ref.coefs_ + ref.intercepts_, ours.coefs_ + ours.intercepts_):
        assert a.shape == b.shape
        scale = np.max(np.abs(a))
        np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("batch_size", [1, 7, N_SAMPLES])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("problem", PROBLEMS)
def test_stochastic_parity(problem, optimizer, activation, batch_size):
    ref, ours, _ = _fit_both(problem, activation=activation, batch_size=batch_size,
                             **OPTIMIZERS[optimizer])
    assert_same_model(ref, ours)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.t_ == ref.t_
    assert ours.best_loss_ == pytest.approx(ref.best_loss_, rel=1e-9)
    if ours.solver == "sgd":  # schedules (invscaling, adaptive) moved the rate alike
        assert ours._optimizer.learning_rate == pytest.approx(ref._optimizer.learning_rate)


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("batch_size", [1, 7, N_SAMPLES])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("problem", PROBLEMS)
def test_weights_and_early_stopping_parity(problem, solver, batch_size, weighted, early_stopping):
    sw = np.random.RandomState(1).uniform(0.5, 2.0, N_SAMPLES) if weighted else None
    ref, ours, _ = _fit_both(problem, sample_weight=sw, solver=solver, batch_size=batch_size,
                             early_stopping=early_stopping, validation_fraction=0.2,
                             learning_rate_init=0.01, activation="tanh")
    assert_same_model(ref, ours)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)
    if early_stopping:
        np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_, rtol=1e-9)
        assert ours.best_validation_score_ == pytest.approx(ref.best_validation_score_)
        assert ours.best_loss_ is None
    else:
        assert ours.validation_scores_ is None


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("problem", ["binary", "multiclass", "multilabel",
                                     "squared_error-1", "poisson-1", "poisson-3"])
def test_lbfgs_parity(problem, activation):
    """L-BFGS-B follows the same path while rounding differences stay below
    its tolerance; a few iterations keep them there."""
    ref, ours, X = _fit_both(problem, solver="lbfgs", activation=activation, max_iter=15)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-6)
    assert_same_model(ref, ours, rtol=1e-5)
    assert not hasattr(ours, "loss_curve_")


def test_partial_fit_parity():
    X, y = _problem("multiclass")
    ref, ours = _pair("multiclass", solver="sgd", learning_rate_init=0.05)
    for _ in range(3):
        ref.partial_fit(X, y, classes=[0, 1, 2])
        ours.partial_fit(X, y, classes=[0, 1, 2])
    assert_same_model(ref, ours)
    assert ours.n_iter_ == ref.n_iter_ and ours.t_ == ref.t_
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)


def test_warm_start_parity():
    X, y = _problem("squared_error-3")
    ref, ours = _pair("squared_error-3", warm_start=True, solver="adam", learning_rate_init=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            ref.fit(X, y)
            ours.fit(X, y)
    assert_same_model(ref, ours)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)


def test_same_initial_weights_same_steps():
    """Given sklearn's initial weights (set through warm_start) and no
    shuffling, fastnn takes the same steps."""
    X, y = _problem("multiclass")
    ref, ours = _pair("multiclass", solver="sgd", shuffle=False, max_iter=1, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, y)
        ours.fit(X, y)
        ours.coefs_ = [c.copy() for c in ref.coefs_]
        ours.intercepts_ = [b.copy() for b in ref.intercepts_]
        ref.fit(X, y)
        ours.fit(X, y)
    assert_same_model(ref, ours)


@pytest.mark.parametrize("problem", ["binary", "multiclass", "multilabel", "squared_error-3"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_float32_scores_match(problem, solver):
    """float32 input trains in float32; its test score stays within 0.01 of
    scikit-learn's float32 fit."""
    X_all, y_all = _problem(problem, n=1200, dtype=np.float32)
    X_tr, X_te, y_tr, y_te = X_all[:600], X_all[600:], y_all[:600], y_all[600:]
    ref, ours = _pair(problem, solver=solver, learning_rate_init=0.01)
    ref.set_params(max_iter=100)
    ours.set_params(max_iter=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X_tr, y_tr)
        ours.fit(X_tr, y_tr)
    assert ours.coefs_[0].dtype == np.float32
    assert ours.predict(X_te).dtype == (np.float32 if problem.startswith("sq") else y_tr.dtype)
    assert abs(ours.score(X_te, y_te) - ref.score(X_te, y_te)) <= 0.01


def test_epoch_shuffle_is_sklearns():
    """fastnn's per-epoch shuffle draws what sklearn.utils.shuffle draws:
    the same orders, and the same random stream afterwards."""
    from sklearn.utils import shuffle

    from fastnn._training import shuffle_in_place

    ours, theirs = np.random.RandomState(3), np.random.RandomState(3)
    a = np.arange(37, dtype=np.int64)
    b = a.copy()
    for _ in range(4):
        shuffle_in_place(a, ours)
        b = shuffle(b, random_state=theirs)
        np.testing.assert_array_equal(a, b)
    assert ours.randint(2**31) == theirs.randint(2**31)
