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


def test_divergence_raises_and_leaves_model_unchanged():
    """Huge inputs blow SGD up: the error names the cause and the estimator
    keeps the model it had before the failed fit."""
    est = MLPRegressor(solver="sgd", max_iter=3, random_state=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y_reg)
        before = pickle.dumps(est)
        with pytest.raises(ValueError, match="non-finite"):
            est.fit(X * 1e12, y_reg * 1e12)
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
