"""The per-sample drivers compiled for one network's shape
(``kernels/cpu/compiled/epochs.py``'s ``SHAPE``): the same model, to the
bit, as the driver made for every shape, which a per-sample fit runs
until its shape's driver is made (``_calls.bind``'s ``fallback``).

The suite's fits keep to the shared driver (conftest.py); here the
background compile is switched on and done in this process, so each test
knows which driver each fit ran. ``test_compile.py`` has the helper
process that does it for users.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning

from fastnn import MLPClassifier, MLPRegressor
from fastnn.kernels.cpu import _cache, _calls, epochs

Xc, yc = make_classification(150, 11, n_informative=6, n_classes=10, n_clusters_per_class=1,
                             random_state=0)
Xr, yr = make_regression(150, 40, n_targets=2, noise=0.1, random_state=0)
yr = yr / yr.std()
Xs = sp.random(150, 40, density=0.1, format="csr", random_state=0)

#: (estimator, X, y, parameters, fit keywords): narrow layers (fewer
#: than 8 units, computed unit by unit) and wide ones, one to three hidden
#: layers, both dtypes, both solvers, dropout, dense and sparse rows,
#: zero sample weights.
CASES = {
    "5-units-adam-float64": (MLPClassifier, Xc, yc, dict(hidden_layer_sizes=(5,)),
                             dict(sample_weight=np.r_[np.zeros(10), np.ones(140)])),
    "12-6-nesterov-dropout-float32": (
        MLPClassifier, Xc.astype(np.float32), yc % 2,
        dict(hidden_layer_sizes=(12, 6), solver="sgd", momentum=0.9, nesterovs_momentum=True,
             learning_rate_init=0.01, dropout=0.2), {}),
    "9-3-10-tanh-sparse": (MLPRegressor, Xs, yr, dict(hidden_layer_sizes=(9, 3, 10),
                                                      activation="tanh", solver="sgd",
                                                      momentum=0.0, alpha=1e-3), {}),
}


def _compile_here(monkeypatch):
    """Shaped drivers on from now, each compiled in this process when a fit
    asks for it (if not in the cache already); returns the names asked
    for."""
    asked = []
    helper = _cache.background

    def background(unit, build):
        asked.append(unit[0])
        with _cache.background_here():  # as the warm-up does
            helper(unit, build)

    monkeypatch.setitem(_cache._state, "background", True)
    monkeypatch.setattr(_cache, "background", background)
    return asked


def _fit(make, X, y, params, fit_kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make(batch_size=1, max_iter=3, random_state=0, **params).fit(X, y, **fit_kw)


def _ran(units):
    """The per-sample drivers bound for a network of ``units`` so far: the
    kernel references (``(module, name)`` or with constants)."""
    return {key[0] for key in _calls._ready_calls
            if key[0][1] == "sample_epoch_kernel"
            and (len(key[0]) == 2 or key[0][2][0][1][0] == tuple(units))}


SHARED = ("epochs", "sample_epoch_kernel")  # the driver made for every shape


def _model(est):
    return [*est.coefs_, *est.intercepts_, np.array(est.loss_curve_)]


@pytest.mark.parametrize("case", list(CASES))
def test_the_shapes_driver_makes_the_same_model(case, monkeypatch):
    make, X, y, params, fit_kw = CASES[case]
    shared = _fit(make, X, y, params, fit_kw)
    units = [X.shape[1], *params["hidden_layer_sizes"], shared.n_outputs_]
    assert _ran(units) == {SHARED}
    asked = _compile_here(monkeypatch)
    _fit(make, X, y, params, fit_kw)  # the shared driver if the shape's is not in the cache
    assert len(asked) <= 1 and all("-shape-" in name for name in asked)
    shaped = _fit(make, X, y, params, fit_kw)  # the shape's, ready now
    assert len(_ran(units) - {SHARED}) == 1 and len(asked) <= 1
    for a, b in zip(_model(shared), _model(shaped)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("hidden", [(4,) * (epochs.SHAPED_LAYERS + 1), ()],
                         ids=["deep", "no-hidden-layer"])
def test_other_networks_keep_to_the_shared_driver(hidden, monkeypatch):
    asked = _compile_here(monkeypatch)
    _fit(MLPClassifier, Xc, yc, dict(hidden_layer_sizes=hidden), {})
    assert asked == []
    assert _ran([Xc.shape[1], *hidden, 10]) == {SHARED}
