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
