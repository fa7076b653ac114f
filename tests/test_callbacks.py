"""Per-epoch callbacks (scikit-learn 1.9's experimental API) and the
progress option."""

import sys
import warnings

import numpy as np
import pytest

from fastnn import MLPClassifier

pytest.importorskip("sklearn.callback")

X = np.random.RandomState(0).standard_normal((80, 4))
y = (X[:, 0] > 0).astype(int)


class StopAfter:
    """Records every task and stops training after ``n`` epochs."""

    def __init__(self, n):
        self.n = n
        self.events = []
        self.scores = []

    def setup(self, estimator, context):
        self.events.append("setup")

    def teardown(self, estimator, context):
        self.events.append("teardown")

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name))
        if context.task_name == "epoch":
            self.scores.append(fitted_estimator.score(X, y))
            return len(self.scores) >= self.n
        return False


def test_callback_sees_each_epoch_and_can_stop_training():
    cb = StopAfter(3)
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=50, random_state=0).set_callbacks(cb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert est.n_iter_ == 3
    assert cb.events[0] == "setup" and cb.events[-1] == "teardown"
    assert cb.events.count(("end", "epoch")) == 3
    assert ("end", "fit") in cb.events
    # the fitted copy at the last epoch's end is the returned model
    assert cb.scores[-1] == est.score(X, y)


def test_callbacks_leave_the_model_as_without_them():
    params = dict(hidden_layer_sizes=(5,), max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = MLPClassifier(**params).fit(X, y)
        with_cb = MLPClassifier(**params).set_callbacks(StopAfter(100)).fit(X, y)
    np.testing.assert_array_equal(plain.coefs_[0], with_cb.coefs_[0])


def test_progress_without_tqdm_prints_one_line_per_epoch(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, progress=True, early_stopping=True,
                      validation_fraction=0.25, random_state=0).fit(X, y)
    lines = capsys.readouterr().err.strip().splitlines()
    # a fit that compiles kernels first says so, in lines of its own
    compiling = [line for line in lines if "compiling" in line]
    lines = [line for line in lines if line not in compiling]
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3, loss ") and "validation score" in lines[0]
    assert "s left" in lines[-1]


def test_progress_off_prints_nothing(capsys):
    """... once the kernels are ready (a first fit on a cold cache says it
    compiles them: tests/test_compile.py)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier(hidden_layer_sizes=(5,), max_iter=1, random_state=0).fit(X, y)
        capsys.readouterr()
        MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().err == ""


def test_sklearn_scoring_monitor_records_every_epoch():
    from sklearn.callback import ScoringMonitor

    monitor = ScoringMonitor(scoring="accuracy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=4, random_state=0)
        est.set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    epochs = [r for r in rows if r["task_name"] == "epoch"]
    assert len(epochs) == 4
    assert epochs[-1]["accuracy"] == est.score(X, y)


@pytest.mark.parametrize("target", ["multiclass", "multilabel", "regression"])
def test_scoring_monitor_sees_the_users_targets(target):
    """Callbacks score on y as the user gave it (labels, not the network's
    one-hot targets)."""
    from sklearn.callback import ScoringMonitor

    from fastnn import MLPRegressor

    Y = {"multiclass": np.digitize(X[:, 0], [-0.5, 0.5]),
         "multilabel": (X[:, :3] > 0).astype(int),
         "regression": X[:, 0] - X[:, 1]}[target]
    Est = MLPRegressor if target == "regression" else MLPClassifier
    scoring = "r2" if target == "regression" else "accuracy"
    monitor = ScoringMonitor(scoring=scoring)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = Est(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
        est.set_callbacks(monitor).fit(X, Y)
    epochs = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(epochs) == 3
    assert epochs[-1][scoring] == pytest.approx(est.score(X, Y))


def test_lbfgs_calls_callbacks_per_iteration_and_honours_a_stop():
    cb = StopAfter(3)
    est = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50, random_state=0)
    est.set_callbacks(cb).fit(X, y)
    assert est.n_iter_ == 3
    assert cb.events.count(("end", "epoch")) == 3
    assert cb.events[-1] == "teardown"
    assert cb.scores[-1] == est.score(X, y)  # the model of the third iteration
    assert est.loss_ == pytest.approx(MLPClassifier(
        hidden_layer_sizes=(5,), solver="lbfgs", max_iter=50, random_state=0
    ).set_callbacks(StopAfter(3)).fit(X, y).loss_)


def test_convergence_warning_comes_after_the_progress_bar_closed(monkeypatch):
    """A warning printed while the bar is open breaks its line: the bar
    closes first."""
    import fastnn._callbacks as callbacks

    order = []
    monkeypatch.setattr(callbacks._ProgressBar, "close", lambda self: order.append("close"))
    for solver in ("adam", "lbfgs"):
        order.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda *a, **k: order.append("warning")
            MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, solver=solver, progress=True,
                          random_state=0).fit(X, y)
        assert order == ["close", "warning"], solver
