"""Bad input gets scikit-learn's errors, never a Numba traceback, and a
failed fit leaves the estimator as it was."""

import pickle
import warnings

import numpy as np
import pytest

from fastnn import MLPClassifier, MLPRegressor

X = np.random.RandomState(0).standard_normal((40, 3))
y_cls = (X[:, 0] > 0).astype(int)
y_reg = X[:, 1].copy()


@pytest.mark.parametrize("Est,y", [(MLPClassifier, y_cls), (MLPRegressor, y_reg)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(Est, y, bad):
    Xb = X.copy()
    Xb[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        Est(max_iter=2).fit(Xb, y)


def test_non_finite_y_regression():
    yb = y_reg.copy()
    yb[0] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        MLPRegressor(max_iter=2).fit(X, yb)


@pytest.mark.parametrize("Est,y", [(MLPClassifier, y_cls), (MLPRegressor, y_reg)])
def test_wrong_number_of_features_at_predict(Est, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = Est(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* is expecting 3"):
        est.predict(X[:, :2])


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_empty_input(Est):
    with pytest.raises(ValueError, match="0 sample"):
        Est().fit(np.empty((0, 3)), np.empty(0))


def test_unknown_label_type():
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier(max_iter=2).fit(X, X[:, 0])


@pytest.mark.parametrize("Est,y", [(MLPClassifier, y_cls), (MLPRegressor, y_reg)])
def test_all_zero_sample_weight(Est, y):
    with pytest.raises(ValueError, match="Sample weights must contain at least one non-zero"):
        Est(max_iter=2).fit(X, y, sample_weight=np.zeros(len(y)))


def test_negative_sample_weight():
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        MLPRegressor(max_iter=2).fit(X, y_reg, sample_weight=-np.ones(len(y_reg)))


def test_partial_fit_without_classes():
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y_cls)


def test_partial_fit_new_class():
    clf = MLPClassifier().partial_fit(X, y_cls, classes=[0, 1])
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X, y_cls + 1)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_partial_fit_not_offered_for_lbfgs(Est):
    est = Est(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit") as info:
        est.partial_fit
    assert "only available for stochastic optimizers" in str(info.value.__cause__)


@pytest.mark.parametrize(
    "params,match",
    [
        (dict(activation="softsign"), "'activation' parameter"),
        (dict(solver="newton"), "'solver' parameter"),
        (dict(hidden_layer_sizes=0), "hidden_layer_sizes"),
        (dict(learning_rate_init=0.0), "'learning_rate_init' parameter"),
        (dict(momentum=1.5), "'momentum' parameter"),
        (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
        (dict(batch_size=0), "'batch_size' parameter"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X, y_cls)


def test_hidden_layer_sizes_zero_in_list():
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPClassifier(hidden_layer_sizes=[3, 0]).fit(X, y_cls)


def test_poisson_rejects_negative_targets():
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(X, y_reg)


def test_early_stopping_in_partial_fit():
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPRegressor(early_stopping=True).partial_fit(X, y_reg)


def test_validation_set_too_small():
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPRegressor(early_stopping=True, validation_fraction=0.01).fit(X, y_reg)


@pytest.mark.parametrize("solver,x_scale,y_scale,match", [
    ("sgd", 1e12, 1e12, "non-finite"),
    ("lbfgs", 1e300, 1.0, "Solver produced non-finite parameter weights"),
])
def test_divergence_raises_and_leaves_model_unchanged(solver, x_scale, y_scale, match):
    """Huge inputs blow SGD and L-BFGS up: the error names the cause and
    the estimator keeps the model it had before the failed fit."""
    est = MLPRegressor(solver=solver, max_iter=3 if solver == "sgd" else 5, random_state=0,
                       warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y_reg)
        before = pickle.dumps(est)
        with pytest.raises(ValueError, match=match):
            est.fit(X * x_scale, y_reg * y_scale)
    assert pickle.dumps(est) == before


def test_failed_first_fit_leaves_estimator_unfitted():
    est = MLPRegressor(solver="sgd", max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            est.fit(X * 1e12, y_reg * 1e12)
    assert not hasattr(est, "coefs_")
    assert not hasattr(est, "n_features_in_")


def test_warm_start_with_changed_architecture():
    est = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y_reg)
        est.set_params(hidden_layer_sizes=(5,))
        with pytest.raises(ValueError, match="does not match the fitted coefs_"):
            est.fit(X, y_reg)


def test_warm_start_with_different_classes():
    clf = MLPClassifier(max_iter=2, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y_cls)
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same classes"):
            clf.fit(X, y_cls + 5)


def test_cuda_without_a_gpu_is_a_clear_error():
    """No silent fallback to the CPU: where CUDA cannot run, device='cuda'
    says what is needed, and the estimator stays unfitted."""
    try:
        from numba import cuda

        if cuda.is_available():
            pytest.skip("a CUDA device is available here")
    except ImportError:
        pass
    est = MLPClassifier(device="cuda", max_iter=2)
    with pytest.raises(RuntimeError, match=r"pip install 'fastnn\[cuda\]'"):
        est.fit(X, y_cls)
    assert not hasattr(est, "coefs_")


def test_gpu_model_without_a_gpu_says_how_to_predict_on_the_cpu():
    """A model fitted with device='cuda' and loaded where CUDA cannot run
    (its weights are NumPy arrays) says how to predict on the CPU, and
    does so after set_params(device='cpu')."""
    try:
        from numba import cuda

        if cuda.is_available():
            pytest.skip("a CUDA device is available here")
    except ImportError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(max_iter=2, random_state=0).fit(X, y_cls)
    expected = clf.predict_proba(X)
    loaded = pickle.loads(pickle.dumps(clf.set_params(device="cuda")))
    with pytest.raises(RuntimeError, match=r"set_params\(device='cpu'\)"):
        loaded.predict(X)
    np.testing.assert_array_equal(loaded.set_params(device="cpu").predict_proba(X), expected)


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
@pytest.mark.parametrize("batch_size", [1, 5])
def test_read_only_input_trains(solver, batch_size):
    """Read-only X (a memory map, a frozen array) goes into every kernel
    path, lbfgs's full-batch one included."""
    X = np.random.RandomState(0).standard_normal((20, 3))
    y = (X[:, 0] > 0).astype(int)
    X.setflags(write=False)
    est = MLPClassifier((4,), solver=solver, batch_size=batch_size, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert est.predict(X).shape == (20,)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_class_weight_gets_the_sample_weight_checks(solver, bad):
    with pytest.raises(ValueError, match="class_weight must give every class a finite"):
        MLPClassifier(solver=solver, class_weight={0: bad, 1: 1.0}, max_iter=2).fit(X, y_cls)


def test_divergence_message_keeps_scikit_learns_sentence():
    with pytest.raises(ValueError, match=(
        "Solver produced non-finite parameter weights. The input data may contain large"
        " values and need to be preprocessed.")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MLPRegressor(max_iter=3).fit(X * 1e300, y_reg)


def test_diverging_fit_with_early_stopping_keeps_the_best_epoch():
    """scikit-learn#29504: early stopping returns the best epoch's model,
    with NaN on record for the epoch that diverged, and says so."""
    from sklearn.datasets import load_iris

    Xi, yi = load_iris(return_X_y=True)
    est = MLPRegressor(hidden_layer_sizes=100, activation="identity", solver="sgd",
                       learning_rate_init=1, max_iter=20, early_stopping=True, random_state=0)
    with pytest.warns(RuntimeWarning, match="best validation score"):
        est.fit(Xi, yi)
    assert np.isnan(est.validation_scores_[-1]) and isinstance(est.validation_scores_[-1], float)
    assert not np.isfinite(est.loss_curve_[-1])
    assert len(est.loss_curve_) == len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == np.nanmax(est.validation_scores_)
    assert all(np.isfinite(c).all() for c in est.coefs_)
    assert np.isfinite(est.predict(Xi)).all()


def test_early_stopping_split_names_the_users_class():
    Xs, ys = [[1, 2], [2, 3], [3, 4], [4, 5]], ["a", "a", "a", "b"]
    with pytest.raises(ValueError, match=r"too few members are: \['True'\].*\['b'\]"):
        MLPClassifier(early_stopping=True).fit(Xs, ys)


def test_early_stopping_with_no_validation_fraction_names_the_parameter():
    with pytest.raises(ValueError, match="validation_fraction=0 holds out nothing"):
        MLPRegressor(early_stopping=True, validation_fraction=0).fit(X, y_reg)


_CORRUPT = """
import itertools, warnings
import numpy as np, scipy.sparse as sp
from fastnn import MLPClassifier
warnings.simplefilter("ignore")
y = np.arange(30) % 2
for case, fmt, call in itertools.product(
        ["index_past_the_end", "negative_index", "indptr_past_the_data", "indptr_decreasing"],
        ["csr", "csc"], ["adam", "lbfgs", "predict"]):
    X = sp.random(30, 5, density=0.4, format=fmt, random_state=0)
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    if case == "index_past_the_end":
        X.indices[3] = 10**6
    elif case == "negative_index":
        X.indices[3] = -5
    elif case == "indptr_past_the_data":
        X.indptr[-2:] += 100
    else:
        X.indptr[2], X.indptr[3] = X.indptr[3], X.indptr[2]
    try:
        if call == "predict":
            model.predict(X)
        else:
            MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, solver=call).fit(X, y)
        print(case, fmt, call, "no error")
    except ValueError as exc:
        print(case, fmt, call, "ValueError:", exc)
"""


def test_corrupt_sparse_structure_is_a_clear_error():
    """An index past the matrix, a negative index or a corrupt indptr is a
    ValueError before any kernel runs, in fit and predict (in a subprocess:
    an out-of-bounds access would crash the interpreter)."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _CORRUPT], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert len(lines) == 24, run.stdout
    for line in lines:
        assert "ValueError:" in line, line
        # scipy's own check sees some corrupt indptrs first, in its words
        assert "corrupt" in line or "index pointer" in line, line
