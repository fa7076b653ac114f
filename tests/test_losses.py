"""MLPRegressor's robust losses, absolute_error and huber (their kernels are
checked against the reference, gradients included, in test_kernels.py)."""

import warnings

import numpy as np
import pytest
from sklearn.metrics import median_absolute_error

from fastnn import MLPRegressor


def outlier_problem(seed=0, n=600, d=5):
    """A smooth target with 5% gross outliers (+-30) in the training y; a
    clean test set."""
    rng = np.random.RandomState(seed)
    w = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    y = X @ w + np.sin(X[:, 0]) + 0.1 * rng.standard_normal(n)
    gross = rng.rand(n) < 0.05
    y[gross] += rng.choice([-1, 1], gross.sum()) * 30
    X_test = rng.standard_normal((2000, d))
    return X, y, X_test, X_test @ w + np.sin(X_test[:, 0])


def fit(X, y, **params):
    params = {"hidden_layer_sizes": (32,), "learning_rate_init": 0.01, "max_iter": 200,
              "random_state": 0, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPRegressor(**params).fit(X, y)


@pytest.mark.parametrize("seed", [0, 1])
def test_robust_losses_resist_outliers(seed):
    """The behaviour these losses are for: gross outliers in y pull a
    squared-error fit away from the clean function, much less a Huber or
    absolute-error one (measured, seeds 0 and 1: median absolute test error
    1.16 and 1.30 for squared error, 0.093 and 0.097 for huber, 0.062 and
    0.053 for absolute error)."""
    X, y, X_test, y_test = outlier_problem(seed)
    err = {loss: median_absolute_error(y_test, fit(X, y, loss=loss).predict(X_test))
           for loss in ("squared_error", "huber", "absolute_error")}
    assert err["huber"] < 0.5 * err["squared_error"], err
    assert err["absolute_error"] < 0.5 * err["squared_error"], err


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("batch_size", [1, 16])
@pytest.mark.parametrize("loss", ["absolute_error", "huber"])
def test_every_solver_trains_and_reports_the_loss(loss, solver, batch_size):
    X, y, _, _ = outlier_problem(n=120)
    est = fit(X, y, loss=loss, solver=solver, batch_size=batch_size, max_iter=30,
              learning_rate_init=0.001, huber_delta=0.5)
    assert est.out_activation_ == "identity"
    r = np.abs(y - est.predict(X))
    if loss == "absolute_error":
        data_loss = r.mean()
    else:
        data_loss = np.where(r <= 0.5, 0.5 * r**2, 0.5 * (r - 0.25)).mean()
    penalty = 0.5 * est.alpha * sum((c**2).sum() for c in est.coefs_) / len(y)
    if solver == "lbfgs":  # loss_ is the loss at the final weights
        assert est.loss_ == pytest.approx(data_loss + penalty, rel=1e-6)
    else:  # an epoch's mean of batch losses, taken while the weights moved
        assert 0.5 * data_loss < est.loss_ < 2 * data_loss + 1


def test_huber_delta_is_used_and_validated():
    X, y, _, _ = outlier_problem(n=100)
    a = fit(X, y, loss="huber", huber_delta=0.1, max_iter=5)
    b = fit(X, y, loss="huber", huber_delta=3.0, max_iter=5)
    assert not np.allclose(a.coefs_[0], b.coefs_[0])
    # with a threshold beyond every residual, Huber is half the squared error
    c = fit(X, y, loss="huber", huber_delta=1e6, max_iter=5)
    d = fit(X, y, loss="squared_error", max_iter=5)
    np.testing.assert_allclose(c.coefs_[0], d.coefs_[0], rtol=1e-9)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="huber_delta"):
            fit(X, y, loss="huber", huber_delta=bad)


def test_multioutput_robust_losses_average_over_outputs():
    X, y, _, _ = outlier_problem(n=150)
    Y = np.column_stack([y, -2 * y])
    est = fit(X, Y, loss="absolute_error", solver="lbfgs", max_iter=40)
    r = np.abs(Y - est.predict(X))
    penalty = 0.5 * est.alpha * sum((c**2).sum() for c in est.coefs_) / len(y)
    assert est.loss_ == pytest.approx(r.mean() + penalty, rel=1e-6)


def test_unknown_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="'loss' parameter"):
        MLPRegressor(loss="quantile").fit(np.zeros((4, 1)), np.zeros(4))


@pytest.mark.parametrize("loss", ["absolute_error", "huber"])
def test_to_sklearn_keeps_the_predictions(loss):
    """The model is an identity-output network; scikit-learn expresses it
    with its squared-error loss."""
    X, y, X_test, _ = outlier_problem(n=100)
    est = fit(X, y, loss=loss, max_iter=10)
    sk = est.to_sklearn()
    assert sk.loss == "squared_error"
    np.testing.assert_allclose(sk.predict(X_test), est.predict(X_test), rtol=1e-12)
