"""Fixtures shared by the test modules."""

import pytest
from sklearn.datasets import load_iris

import fastnn
from fastnn.kernels.cpu import _cache, _calls

# The suite's own fits run the drivers made for every shape, whatever the
# cache holds, and start no background compile: which units a fit uses
# stays fixed (test_compile.py counts them). The per-sample drivers made
# for a network's shape are tested in test_shaped.py.
_cache.no_background()


@pytest.fixture(scope="module")
def predict_entry():
    """The prediction driver's entry (``_native.Entry``), as a small fit
    and its predict made it ready."""
    X, y = load_iris(return_X_y=True)
    est = fastnn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)
    est.predict(X)
    entries = [(key, ready) for key, ready in _calls._ready_calls.items()
               if key[0] == ("network", "predict_kernel")]
    assert entries
    return entries[0][1][0]
