"""to_sklearn / from_sklearn, and ONNX export through skl2onnx."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk

from fastnn import MLPClassifier, MLPRegressor

rng = np.random.RandomState(0)
X = rng.standard_normal((60, 4))
y_cls = np.array(["a", "b", "c"])[rng.randint(0, 3, 60)]
y_reg = X @ [1.0, -1.0, 0.5, 0.0]


def quiet_fit(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*args)


@pytest.mark.parametrize("Est,y", [(MLPClassifier, y_cls), (MLPRegressor, y_reg)])
def test_to_sklearn_predicts_identically(Est, y):
    ours = quiet_fit(Est(hidden_layer_sizes=(5,), max_iter=20, random_state=0,
                         progress=False), X, y)
    theirs = ours.to_sklearn()
    assert type(theirs).__module__.startswith("sklearn.neural_network")
    np.testing.assert_array_equal(theirs.predict(X), ours.predict(X))
    if Est is MLPClassifier:
        np.testing.assert_allclose(theirs.predict_proba(X), ours.predict_proba(X), rtol=1e-12)
    theirs.coefs_[0][0, 0] += 1.0  # a copy, not a view of ours
    assert ours.coefs_[0][0, 0] != theirs.coefs_[0][0, 0]
    pickle.loads(pickle.dumps(theirs)).predict(X)


@pytest.mark.parametrize("Est,y", [(MLPClassifier, y_cls), (MLPRegressor, y_reg)])
def test_from_sklearn_predicts_identically(Est, y):
    theirs = quiet_fit(getattr(sk, Est.__name__)(hidden_layer_sizes=(5,), max_iter=20,
                                                 random_state=0), X, y)
    ours = Est.from_sklearn(theirs)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.get_params()["hidden_layer_sizes"] == (5,)
    # and it trains on from there
    ours.partial_fit(X, y)


def test_from_sklearn_refuses_the_wrong_kind():
    theirs = quiet_fit(sk.MLPRegressor(max_iter=5), X, y_reg)
    with pytest.raises(ValueError, match="needs a fitted sklearn.neural_network.MLPClassifier"):
        MLPClassifier.from_sklearn(theirs)


def test_onnx_export_runs_in_onnxruntime():
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx.common.data_types import FloatTensorType

    ours = quiet_fit(MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0),
                     X.astype(np.float32), y_reg)
    onx = skl2onnx.convert_sklearn(ours.to_sklearn(),
                                   initial_types=[("X", FloatTensorType([None, 4]))])
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"X": X.astype(np.float32)})[0].ravel()
    np.testing.assert_allclose(got, ours.predict(X.astype(np.float32)), rtol=1e-4, atol=1e-5)


_PIPELINE_TO_ONNX = """
import sys, warnings
import numpy as np
warnings.simplefilter("ignore")
if sys.argv[1] == "skl2onnx first":
    import skl2onnx
import fastnn
assert sys.argv[1] == "skl2onnx first" or "skl2onnx" not in sys.modules  # import stays light
if sys.argv[1] == "availability checked first":  # as libraries do; the hook stays
    import importlib.util
    assert importlib.util.find_spec("skl2onnx") is not None
import onnxruntime as ort
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_iris(return_X_y=True)
X32 = X.astype(np.float32)


def run(model):
    onx = to_onnx(model, X32[:1], options={"zipmap": False} if hasattr(model, "classes_") else None)
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: X32})


clf = make_pipeline(StandardScaler(), fastnn.MLPClassifier(max_iter=30, random_state=0)).fit(X, y)
label, proba = run(clf)
assert (label == clf.predict(X)).all()
np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)
reg = make_pipeline(StandardScaler(), fastnn.MLPRegressor(max_iter=30, random_state=0)).fit(
    X, X[:, 0])
np.testing.assert_allclose(run(reg)[0].ravel(), reg.predict(X), atol=1e-4)
for model, words in ((fastnn.MLPClassifier(activation="gelu", max_iter=2), "no scikit-learn"),
                     (fastnn.MLPRegressor(loss="poisson", max_iter=2), "no ONNX form")):
    model.fit(X, y + 1)
    try:
        run(model)
    except ValueError as exc:
        assert words in str(exc), exc
    else:
        raise AssertionError("converted a model with no ONNX form")
print("ok")
"""


@pytest.mark.parametrize("order", ["skl2onnx first", "fastnn first", "availability checked first"])
def test_a_pipeline_holding_fastnn_exports_to_onnx(order):
    """skl2onnx converts fastnn's estimators inside a Pipeline, whichever
    is imported first; a model with no ONNX form is refused by name. In a
    fresh process: what is imported is the point."""
    import subprocess
    import sys

    pytest.importorskip("skl2onnx")
    pytest.importorskip("onnxruntime")
    done = subprocess.run([sys.executable, "-c", _PIPELINE_TO_ONNX, order], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
