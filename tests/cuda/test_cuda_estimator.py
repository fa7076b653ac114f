"""device="cuda" fits and predictions against device="cpu" ones on tiny
data (under the simulator in CI)."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from fastnn import MLPClassifier, MLPRegressor

pytest.importorskip("numba.cuda")

rng = np.random.RandomState(0)
X = rng.standard_normal((10, 3))
y_multi = np.arange(10) % 3
y_bin = (X[:, 0] > 0).astype(int)
Y_reg = np.column_stack([X[:, 0] - X[:, 1], X[:, 2]])


def fit_both(Est, X, y, sample_weight=None, **params):
    params = {"hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0, **params}
    out = []
    for device in ("cpu", "cuda"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out.append(Est(device=device, **params).fit(X, y, sample_weight=sample_weight))
    return out


def assert_same(cpu, gpu, rtol=1e-10):
    for a, b in zip(cpu.coefs_ + cpu.intercepts_, gpu.coefs_ + gpu.intercepts_):
        assert isinstance(b, np.ndarray)
        np.testing.assert_allclose(b, a, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=rtol)
    assert gpu.device_ == "cuda" and cpu.device_ == "cpu"


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("Est,y", [(MLPClassifier, y_multi), (MLPClassifier, y_bin),
                                   (MLPRegressor, Y_reg)])
def test_fit_matches_cpu(Est, y, solver, batch_size):
    cpu, gpu = fit_both(Est, X, y, solver=solver, batch_size=batch_size)
    assert_same(cpu, gpu)
    np.testing.assert_allclose(gpu.predict(X) if Est is MLPRegressor else gpu.predict_proba(X),
                               cpu.predict(X) if Est is MLPRegressor else cpu.predict_proba(X),
                               rtol=1e-10)


def test_weights_and_early_stopping_match_cpu():
    X2 = np.random.RandomState(1).standard_normal((16, 3))
    y2 = np.arange(16) % 2
    sw = np.linspace(0.5, 2.0, 16)
    sw[3] = 0.0
    cpu, gpu = fit_both(MLPClassifier, X2, y2, sample_weight=sw, early_stopping=True,
                        validation_fraction=0.25, batch_size=4, max_iter=3)
    assert_same(cpu, gpu)
    np.testing.assert_allclose(gpu.validation_scores_, cpu.validation_scores_)


def test_float32_stays_float32_on_gpu():
    cpu, gpu = fit_both(MLPRegressor, X.astype(np.float32), Y_reg, batch_size=4)
    assert gpu.coefs_[0].dtype == np.float32
    assert_same(cpu, gpu, rtol=1e-5)


def test_partial_fit_and_warm_start_on_gpu():
    models = []
    for device in ("cpu", "cuda"):
        est = MLPClassifier(hidden_layer_sizes=(4,), random_state=0, device=device, batch_size=4)
        for _ in range(2):
            est.partial_fit(X, y_multi, classes=[0, 1, 2])
        models.append(est)
    assert_same(*models)


def test_gpu_model_pickles_and_predicts_on_cpu():
    _, gpu = fit_both(MLPClassifier, X, y_multi, batch_size=4)
    loaded = pickle.loads(pickle.dumps(gpu))
    proba_gpu = loaded.predict_proba(X)
    loaded.set_params(device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(X), proba_gpu, rtol=1e-10)


def sparse_X(fmt):
    return sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X)).asformat(fmt)


@pytest.mark.parametrize("Est,y,fmt", [(MLPClassifier, y_multi, None), (MLPRegressor, Y_reg, None),
                                       (MLPClassifier, y_multi, "csr")])
def test_lbfgs_matches_cpu(Est, y, fmt, monkeypatch):
    monkeypatch.setattr("fastnn._backend.CHUNK_ROWS", 4)  # several chunks
    cpu, gpu = fit_both(Est, X if fmt is None else sparse_X(fmt), y, solver="lbfgs", max_iter=5)
    for a, b in zip(cpu.coefs_ + cpu.intercepts_, gpu.coefs_ + gpu.intercepts_):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-10)
    assert gpu.n_iter_ == cpu.n_iter_
    assert gpu.loss_ == pytest.approx(cpu.loss_, rel=1e-10)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_fit_and_predict_match_cpu(fmt):
    Xs = sparse_X(fmt)
    cpu, gpu = fit_both(MLPClassifier, Xs, y_multi, solver="adam", batch_size=3)
    assert_same(cpu, gpu)
    np.testing.assert_allclose(gpu.predict_proba(Xs), cpu.predict_proba(Xs), rtol=1e-10)


def test_device_out_of_memory_is_a_clear_error_and_leaves_model(monkeypatch):
    from numba.cuda.cudadrv.driver import CudaAPIError

    from fastnn.kernels import cuda as cuda_kernels

    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0, device="cuda",
                        warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y_multi)
    before = pickle.dumps(est)

    def out_of_memory(*args):
        raise CudaAPIError(2, "Call to cuMemAlloc results in CUDA_ERROR_OUT_OF_MEMORY")

    monkeypatch.setattr(cuda_kernels, "minibatch_epochs", lambda *args: out_of_memory)
    with pytest.raises(MemoryError, match="GPU ran out of memory"):
        est.fit(X, y_multi)
    assert pickle.dumps(est) == before


def test_fit_with_tiled_products_matches_cpu(monkeypatch):
    """The shared-memory tiled products (used for real layer sizes) inside
    a whole fit."""
    from fastnn.kernels.cuda import _launch

    monkeypatch.setattr(_launch, "TILED_MIN_K", 0)
    cpu, gpu = fit_both(MLPRegressor, X, Y_reg, solver="adam", batch_size=5, max_iter=1)
    assert_same(cpu, gpu)


def test_class_weight_on_gpu_matches_cpu():
    cpu, gpu = fit_both(MLPClassifier, X, y_bin, class_weight="balanced", batch_size=4)
    assert_same(cpu, gpu)


def test_validation_data_and_scoring_on_gpu_match_cpu():
    X2 = np.random.RandomState(2).standard_normal((12, 3))
    y2 = np.arange(12) % 3
    models = []
    for device in ("cpu", "cuda"):
        est = MLPClassifier(hidden_layer_sizes=(4,), early_stopping=True, scoring="loss",
                            batch_size=4, max_iter=3, random_state=0, device=device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            models.append(est.fit(X, y_multi, X_val=X2, y_val=y2))
    cpu, gpu = models
    assert_same(cpu, gpu)
    np.testing.assert_allclose(gpu.validation_loss_curve_, cpu.validation_loss_curve_,
                               rtol=1e-10)


def test_callback_stops_a_gpu_fit():
    pytest.importorskip("sklearn.callback")

    class StopAtTwo:
        def setup(self, estimator, context):
            pass

        def teardown(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context):
            return context.task_name == "epoch" and context.task_id == 1

    est = MLPClassifier(hidden_layer_sizes=(4,), batch_size=4, max_iter=10, device="cuda",
                        random_state=0).set_callbacks(StopAtTwo())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y_multi)
    assert est.n_iter_ == 2


@pytest.mark.parametrize("params", [
    {"activation": "leaky_relu", "negative_slope": 0.2, "dropout": 0.3},
    {"activation": "gelu", "loss": "huber", "huber_delta": 0.5},
    {"activation": "silu", "loss": "absolute_error", "dropout": [0.5]},
], ids=["leaky-dropout", "gelu-huber", "silu-mae-dropout"])
def test_new_activations_losses_and_dropout_match_cpu(params):
    """The same model on both devices, dropout masks included."""
    cpu, gpu = fit_both(MLPRegressor, X, Y_reg, batch_size=3, **params)
    assert_same(cpu, gpu)
    np.testing.assert_allclose(gpu.predict(X), cpu.predict(X), rtol=1e-10)


def test_progress_display_and_interop_on_gpu(capsys, monkeypatch):
    """The host-side features work the same on a GPU fit: the progress
    lines, the loss-curve display's data, to_sklearn."""
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)  # the one-line-per-epoch fallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, batch_size=5, device="cuda",
                            progress=True, random_state=0).fit(X, y_multi)
    assert capsys.readouterr().err.count("epoch") == 2
    sk = est.to_sklearn()
    np.testing.assert_allclose(sk.predict_proba(X), est.predict_proba(X), rtol=1e-10)
    assert len(est.loss_curve_) == 2
