"""The hidden activations scikit-learn's MLP lacks: elu, softplus,
leaky_relu, gelu and silu (their kernels are checked against the reference
in test_kernels.py; here: extreme inputs and whole fits)."""

import warnings

import numpy as np
import pytest

from fastnn import MLPClassifier, MLPRegressor
from fastnn.kernels import codes
from fastnn.kernels import cpu as K

NEW = ["elu", "softplus", "leaky_relu", "gelu", "silu"]

X = np.random.RandomState(0).standard_normal((80, 4))
y = (X[:, 0] * X[:, 1] > 0).astype(int)


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_safe_at_extreme_inputs(name, dtype):
    """No overflow to inf or NaN far out, in the activation or its
    derivative, and the right limits."""
    z = np.array([[-1e4, -50.0, -1e-8, 0.0, 1e-8, 50.0, 1e4]], dtype=dtype)
    a = z.copy()
    d = np.empty_like(z)
    K.activation_forward(a, d, codes.ACTIVATIONS[name], dtype(0.01))
    assert np.isfinite(a).all() and np.isfinite(d).all()
    assert a[0, -1] == dtype(1e4) and d[0, -1] == 1.0  # all are ~z far right
    left = {"elu": -1.0, "softplus": 0.0, "leaky_relu": -100.0, "gelu": 0.0, "silu": 0.0}
    np.testing.assert_allclose(a[0, 0], left[name], atol=1e-30)
    d_left = {"elu": 0.0, "softplus": 0.0, "leaky_relu": 0.01, "gelu": 0.0, "silu": 0.0}
    np.testing.assert_allclose(d[0, 0], d_left[name], atol=1e-30, rtol=1e-6)
    if name == "softplus":
        assert a[0, 3] == pytest.approx(np.log(2.0))
    if name in ("gelu", "silu"):  # both are z/2 and have slope 1/2 at 0
        assert a[0, 3] == 0.0 and d[0, 3] == pytest.approx(0.5)


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_fits_and_learns(name, Est):
    target = y if Est is MLPClassifier else X[:, 0] * X[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = Est(hidden_layer_sizes=(32,), activation=name, max_iter=500, learning_rate_init=0.01,
                  random_state=0).fit(X, target)
    assert est.score(X, target) > 0.8


def test_negative_slope_is_used():
    """leaky_relu's slope reaches the kernels: 0 gives relu's model, and
    another slope another model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = lambda **kw: MLPClassifier((8,), max_iter=5, random_state=0, **kw).fit(X, y)
        relu = fit(activation="relu")
        leaky0 = fit(activation="leaky_relu", negative_slope=0.0)
        leaky = fit(activation="leaky_relu", negative_slope=0.3)
    np.testing.assert_allclose(leaky0.coefs_[0], relu.coefs_[0], rtol=1e-12)
    assert not np.allclose(leaky.coefs_[0], relu.coefs_[0])
    z = np.array([[-2.0, 3.0]])
    K.activation_forward(z, z[:0, :0], codes.LEAKY_RELU, 0.3)
    np.testing.assert_allclose(z, [[-0.6, 3.0]])


def test_negative_slope_is_validated():
    with pytest.raises(ValueError, match="negative_slope"):
        MLPClassifier(activation="leaky_relu", negative_slope=-0.1).fit(X, y)


@pytest.mark.parametrize("name", NEW)
def test_to_sklearn_refuses_an_activation_it_lacks(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(activation=name, max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match=f"activation='{name}' has no scikit-learn equivalent"):
        est.to_sklearn()
