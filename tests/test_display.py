"""LossCurveDisplay in scikit-learn's Display style."""

import warnings

import numpy as np
import pytest

from fastnn import LossCurveDisplay, MLPClassifier

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

X = np.random.RandomState(0).standard_normal((120, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int)


def fitted(**params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier(max_iter=6, random_state=0, **params).fit(
            X[:90], y[:90], X_val=X[90:], y_val=y[90:])


def test_from_estimator_draws_both_curves():
    est = fitted()
    disp = LossCurveDisplay.from_estimator(est, color="C3")
    assert len(disp.lines_) == 2
    np.testing.assert_allclose(disp.lines_[0].get_ydata(), est.loss_curve_)
    np.testing.assert_allclose(disp.lines_[1].get_ydata(), est.validation_loss_curve_)
    assert disp.lines_[0].get_color() == "C3"
    assert disp.ax_.get_xlabel() == "epoch" and disp.figure_ is disp.ax_.figure
    assert "MLPClassifier training loss" in [t.get_text() for t in disp.ax_.get_legend().texts]


def test_plot_on_given_axes_and_training_curve_only():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    disp = LossCurveDisplay(loss_curve=[3.0, 2.0, 1.5]).plot(ax=ax, name="mine")
    assert disp.ax_ is ax and len(disp.lines_) == 1
    assert disp.lines_[0].get_label() == "mine training loss"


def test_lbfgs_model_has_no_curve():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(solver="lbfgs", max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="no loss_curve_"):
        LossCurveDisplay.from_estimator(est)


def test_from_a_fitted_pipeline_marks_the_kept_epoch():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        max_iter=30, early_stopping=True, n_iter_no_change=3, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X, y)
    mlp = pipe[-1]
    disp = LossCurveDisplay.from_estimator(pipe)
    np.testing.assert_allclose(disp.lines_[0].get_ydata(), mlp.loss_curve_)
    assert disp.kept_epoch == int(np.argmax(mlp.validation_scores_)) + 1
    assert disp.kept_line_.get_xdata()[0] == disp.kept_epoch


def test_unfitted_pipeline_is_named_as_not_fitted():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(ValueError, match="final step of the Pipeline.*is not fitted"):
        LossCurveDisplay.from_estimator(make_pipeline(StandardScaler(), MLPClassifier()))
