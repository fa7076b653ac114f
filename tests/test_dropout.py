"""Dropout on hidden layers: inverted dropout in training only, reproducible
from random_state (the kernels' masks are checked against the reference in
test_kernels.py; CPU/GPU agreement in tests/cuda)."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss

from fastnn import MLPClassifier, MLPRegressor

X, y = make_classification(2100, 20, n_informative=5, flip_y=0.1, random_state=0)
X_train, y_train, X_test, y_test = X[:100], y[:100], X[100:], y[100:]


def fit(Est=MLPClassifier, X=X_train, y=y_train, **params):
    params = {"hidden_layer_sizes": (16, 8), "max_iter": 5, "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Est(**params).fit(X, y)


def test_dropout_narrows_the_train_test_gap():
    """An over-parameterized network on 100 samples memorizes them; dropout
    0.5 narrows the gap between train and test (measured: log-loss gap 1.06
    -> 0.14, accuracy gap 0.26 -> 0.08)."""
    gaps = {}
    for rate in (0.0, 0.5):
        est = fit(hidden_layer_sizes=(256, 256), max_iter=200, alpha=0.0, dropout=rate)
        loss_gap = (log_loss(y_test, est.predict_proba(X_test))
                    - log_loss(y_train, est.predict_proba(X_train)))
        acc_gap = est.score(X_train, y_train) - est.score(X_test, y_test)
        gaps[rate] = (loss_gap, acc_gap)
    assert gaps[0.0][0] > 0.5  # the plain network does overfit
    assert gaps[0.5][0] < 0.5 * gaps[0.0][0], gaps
    assert gaps[0.5][1] < gaps[0.0][1], gaps


def test_reproducible_from_random_state():
    a = fit(dropout=0.3)
    b = fit(dropout=0.3)
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(u, v)
    c = fit(dropout=0.3, random_state=1)
    d = fit(dropout=0.0, random_state=1)
    assert not np.allclose(c.coefs_[0], d.coefs_[0])


def test_no_dropout_at_prediction():
    """predict is the deterministic network (inverted dropout scales in
    training), and equals a NumPy forward pass of the fitted weights."""
    est = fit(MLPRegressor, y=y_train.astype(float), dropout=[0.5, 0.2])
    a = X_test
    for i, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        a = a @ W + b
        if i < len(est.coefs_) - 1:
            a = np.maximum(a, 0)
    np.testing.assert_allclose(est.predict(X_test), a.ravel(), rtol=1e-10)
    np.testing.assert_array_equal(est.predict(X_test), est.predict(X_test))


def test_per_layer_rates():
    """A rate of 0 leaves its layer alone; only the other layer's masks
    (and their seeds) change the fit."""
    both = fit(dropout=[0.5, 0.5])
    first = fit(dropout=[0.5, 0.0])
    assert not np.allclose(both.coefs_[0], first.coefs_[0])


@pytest.mark.parametrize("solver,batch_size", [("sgd", 1), ("sgd", 16), ("adam", 1), ("adam", 16)])
def test_every_stochastic_path(solver, batch_size):
    est = fit(dropout=0.2, solver=solver, batch_size=batch_size, learning_rate_init=0.01,
              max_iter=20)
    assert est.score(X_test, y_test) > 0.6
    assert np.isfinite(est.loss_curve_).all()


def test_partial_fit_and_pickle():
    est = MLPClassifier(hidden_layer_sizes=(8,), dropout=0.25, random_state=0)
    for _ in range(3):
        est.partial_fit(X_train, y_train, classes=[0, 1])
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X_test), est.predict_proba(X_test))
    assert est.to_sklearn().predict(X_test).tolist() == est.predict(X_test).tolist()


@pytest.mark.parametrize("dropout,match", [
    (1.0, "dropout"),
    (-0.1, "dropout"),
    ([0.1], r"one such rate per hidden layer \(2\)"),
    ([0.1, 1.0], "rate in \\[0, 1\\)"),
    ("high", "dropout"),
])
def test_bad_rates_are_clear_errors(dropout, match):
    with pytest.raises(ValueError, match=match):
        fit(dropout=dropout)


def test_lbfgs_refuses_dropout():
    with pytest.raises(ValueError, match="dropout needs solver='sgd' or 'adam'"):
        fit(dropout=0.1, solver="lbfgs")
    fit(dropout=0.0, solver="lbfgs")  # no dropout: fine


def test_failed_fit_leaves_the_model():
    est = fit(dropout=0.2)
    before = [c.copy() for c in est.coefs_]
    est.set_params(dropout=[0.2])
    with pytest.raises(ValueError):
        est.fit(X_train, y_train)
    for a, b in zip(before, est.coefs_):
        np.testing.assert_array_equal(a, b)
