"""The hidden activations scikit-learn's MLP lacks: elu and softplus."""

import warnings

import numpy as np
import pytest

from fastnn import MLPClassifier, MLPRegressor
from fastnn.kernels import codes
from fastnn.kernels import cpu as K

X = np.random.RandomState(0).standard_normal((80, 4))
y = (X[:, 0] * X[:, 1] > 0).astype(int)


@pytest.mark.parametrize("name", ["elu", "softplus"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_safe_at_extreme_inputs(name, dtype):
    z = np.array([[-1e4, -50.0, -1e-8, 0.0, 1e-8, 50.0, 1e4]], dtype=dtype)
    a = z.copy()
    K.activation_forward(a, codes.ACTIVATIONS[name])
    assert np.isfinite(a).all()
    if name == "elu":
        np.testing.assert_allclose(a[0, [0, -1]], [-1.0, 1e4])
    else:  # softplus: ~0 far left, ~z far right, log(2) at 0
        assert a[0, 0] == 0.0 and a[0, -1] == dtype(1e4)
        assert a[0, 3] == pytest.approx(np.log(2.0))
    d = np.ones_like(a)
    K.activation_backward(d, a, codes.ACTIVATIONS[name])
    assert np.isfinite(d).all() and (d >= 0).all() and (d <= 1).all()


@pytest.mark.parametrize("name", ["elu", "softplus"])
@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_fits_and_learns(name, Est):
    target = y if Est is MLPClassifier else X[:, 0] * X[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = Est(hidden_layer_sizes=(32,), activation=name, max_iter=500, learning_rate_init=0.01,
                  random_state=0).fit(X, target)
    assert est.score(X, target) > 0.8


def test_to_sklearn_refuses_an_activation_it_lacks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(activation="elu", max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match="activation='elu' has no scikit-learn equivalent"):
        est.to_sklearn()
