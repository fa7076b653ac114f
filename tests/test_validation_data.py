"""fit(X_val=, y_val=, sample_weight_val=), scoring= and
validation_loss_curve_."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import balanced_accuracy_score, log_loss, mean_squared_error

from fastnn import MLPClassifier, MLPRegressor

X, y = make_classification(400, 8, n_informative=5, n_classes=3, random_state=0)
X_tr, y_tr, X_val, y_val = X[:300], y[:300], X[300:], y[300:]


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_validation_set_replaces_the_split():
    est = quiet(MLPClassifier(early_stopping=True, max_iter=30, random_state=0).fit,
                X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert est.t_ == est.n_iter_ * len(X_tr)  # trained on all of X_tr
    assert len(est.validation_scores_) == len(est.validation_loss_curve_) == est.n_iter_
    # the restored model is the best one on the given validation set
    assert est.score(X_val, y_val) == pytest.approx(est.best_validation_score_)


def test_validation_loss_curve_without_early_stopping():
    est = quiet(MLPClassifier(max_iter=8, random_state=0).fit, X_tr, y_tr,
                X_val=X_val, y_val=y_val)
    assert len(est.validation_loss_curve_) == 8
    assert est.validation_scores_ is None
    # the last entry is the final model's log-loss on the validation set
    assert est.validation_loss_curve_[-1] == pytest.approx(
        log_loss(y_val, est.predict_proba(X_val)), rel=1e-6)


def test_validation_loss_curve_with_the_internal_split():
    est = quiet(MLPClassifier(early_stopping=True, max_iter=5, random_state=0).fit, X, y)
    assert len(est.validation_loss_curve_) == est.n_iter_
    assert quiet(MLPClassifier(max_iter=5).fit, X, y).validation_loss_curve_ is None


def test_sample_weight_val_weighs_the_validation_loss():
    Xr, yr = make_regression(200, 5, noise=1.0, random_state=0)
    yr /= yr.std()
    sw = np.linspace(0.1, 2.0, 50)
    est = quiet(MLPRegressor(max_iter=5, random_state=0).fit, Xr[:150], yr[:150],
                X_val=Xr[150:], y_val=yr[150:], sample_weight_val=sw)
    expected = 0.5 * mean_squared_error(yr[150:], est.predict(Xr[150:]), sample_weight=sw)
    assert est.validation_loss_curve_[-1] == pytest.approx(expected, rel=1e-6)


def test_scoring_loss_keeps_the_lowest_validation_loss():
    est = quiet(MLPClassifier(early_stopping=True, scoring="loss", max_iter=40,
                              n_iter_no_change=3, random_state=0, learning_rate_init=0.05).fit,
                X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert est.best_validation_score_ == pytest.approx(-min(est.validation_loss_curve_))
    assert log_loss(y_val, est.predict_proba(X_val)) == pytest.approx(
        min(est.validation_loss_curve_), rel=1e-6)


def test_scoring_with_a_scorer_name():
    est = quiet(MLPClassifier(early_stopping=True, scoring="balanced_accuracy", max_iter=20,
                              random_state=0).fit, X_tr, y_tr, X_val=X_val, y_val=y_val)
    assert est.best_validation_score_ == pytest.approx(
        balanced_accuracy_score(y_val, est.predict(X_val)))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(X_val=X_val), "must be given together"),
        (dict(sample_weight_val=np.ones(100)), "needs X_val and y_val"),
        (dict(X_val=X_val[:, :3], y_val=y_val), "X has 3 features"),
        (dict(X_val=X_val, y_val=y_val + 7), "classes not in the training data"),
    ],
)
def test_bad_validation_data(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier(max_iter=2).fit(X_tr, y_tr, **kwargs)


def test_validation_data_needs_a_stochastic_solver():
    with pytest.raises(ValueError, match="solver='sgd' and 'adam'"):
        MLPClassifier(solver="lbfgs").fit(X_tr, y_tr, X_val=X_val, y_val=y_val)


def test_unknown_scorer_is_a_clear_error():
    with pytest.raises(ValueError, match="scoring='nonsense' is neither 'loss' nor a scikit-learn"):
        quiet(MLPClassifier(early_stopping=True, scoring="nonsense", max_iter=2).fit, X, y)


def test_partial_fit_records_one_validation_point_per_call():
    est = MLPClassifier(random_state=0)
    for start in range(0, 300, 100):
        quiet(est.partial_fit, X_tr[start:start + 100], y_tr[start:start + 100],
              classes=np.unique(y), X_val=X_val, y_val=y_val)
    assert len(est.validation_loss_curve_) == len(est.loss_curve_) == 3
    assert est.validation_loss_curve_[-1] == pytest.approx(
        log_loss(y_val, est.predict_proba(X_val)))
    reg = MLPRegressor(random_state=0)
    quiet(reg.partial_fit, X_tr, X_tr[:, 0], X_val=X_val, y_val=X_val[:, 0])
    assert len(reg.validation_loss_curve_) == 1


def test_x_val_through_a_pipeline_is_transformed_with_transform_input():
    """The README's recipe: metadata routing and Pipeline(transform_input=)
    give the MLP the validation set as the pipeline's steps transform it."""
    import sklearn
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X_big, X_val_big = X_tr * 100 + 50, X_val * 100 + 50
    with sklearn.config_context(enable_metadata_routing=True):
        mlp = MLPClassifier(max_iter=5, random_state=0).set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)], transform_input=["X_val"])
        quiet(pipe.fit, X_big, y_tr, X_val=X_val_big, y_val=y_val)
    assert pipe[-1].validation_loss_curve_[-1] == pytest.approx(
        log_loss(y_val, pipe.predict_proba(X_val_big)))
