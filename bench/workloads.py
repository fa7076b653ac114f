"""The benchmark's reference workloads and their data.

Every data set is split with ``train_test_split(test_size=0.25,
random_state=0)`` and standardized with a ``StandardScaler`` fitted on the
training part (regression targets are standardized with the training mean
and standard deviation as well). Every estimator gets ``random_state=0``.
The sparse workloads' data (S1, S2: hashed-text-like CSR, values in
[0, 1)) is not standardized. All workloads except W1 train for a fixed
number of epochs
(``tol=0, n_iter_no_change=max_iter``), so the work done does not depend on
the loss trajectory.

``--quick`` keeps only the first ``quick_fraction`` of the (already
shuffled) training rows of the large workloads; such results are labelled
"quick-scaled". The test set is never subsampled.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def fixed_epochs(max_iter, **params):
    """Parameters that train for exactly ``max_iter`` epochs."""
    return dict(params, max_iter=max_iter, tol=0.0, n_iter_no_change=max_iter, random_state=0)


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    dataset: str  # a key of DATASETS
    estimator: str  # class name exposed by both libraries
    params: dict = field(hash=False)
    dtype: str = "float64"  # X is cast to this after scaling
    quick_fraction: float = 1.0  # training rows kept with --quick
    full_only: bool = False  # not run with --quick
    sklearn_repeats: int | None = None  # cap on scikit-learn's timed fits (full mode)


# --------------------------------------------------------------------------
# Data sets: name -> (X, y, is_regression). Generated once per process.
# --------------------------------------------------------------------------
def _digits():
    X, y = load_digits(return_X_y=True)
    return X, y, False


def _classif_20k():
    X, y = make_classification(20_000, 20, n_informative=10, n_classes=3, random_state=0)
    return X, y, False


def _classif_100k():
    X, y = make_classification(100_000, 100, n_informative=50, n_classes=5, random_state=0)
    return X, y, False


def _classif_50k():
    X, y = make_classification(50_000, 40, n_informative=20, n_classes=4, random_state=0)
    return X, y, False


def _regression_50k():
    X, y = make_regression(50_000, 50, n_informative=30, noise=5.0, random_state=0)
    return X, y, True


def _hashed(n_features, n=5000, per_row=40):
    """Rows like hashed text features: ``per_row`` stored entries a row at
    random columns of ``n_features``, labels from a sparse linear model."""
    rng = np.random.RandomState(0)
    cols = np.sort(rng.randint(0, n_features, size=(n, per_row)), axis=1).ravel()
    X = sp.csr_matrix((rng.rand(n * per_row), cols, np.arange(n + 1) * per_row),
                      shape=(n, n_features))
    X.sum_duplicates()
    w = rng.standard_normal(n_features) * (rng.rand(n_features) < 0.05)
    score = X @ w
    return X, (score > np.median(score)).astype(int), False


DATASETS = {
    "digits": _digits,
    "classif-20k": _classif_20k,  # W2
    "classif-100k": _classif_100k,  # W3
    "regression-50k": _regression_50k,  # W4
    "classif-50k": _classif_50k,  # W6
    "hashed-2^18": lambda: _hashed(2**18),  # S1
    "hashed-2^16": lambda: _hashed(2**16),  # S2
}


WORKLOADS = [
    Workload(
        "W1", "digits, defaults (adam, batch 200, early stop on tol)",
        "digits", "MLPClassifier",
        dict(hidden_layer_sizes=(100,), max_iter=200, random_state=0),
    ),
    Workload(
        "W2", "20k x 20, 3 classes, sgd batch 1, 5 epochs",
        "classif-20k", "MLPClassifier",
        fixed_epochs(5, hidden_layer_sizes=(64,), solver="sgd", batch_size=1, learning_rate_init=0.01),
        quick_fraction=0.1, sklearn_repeats=2,
    ),
    Workload(
        "W3-f64", "100k x 100, 5 classes, (256,128) adam batch 256, 5 epochs, float64",
        "classif-100k", "MLPClassifier",
        fixed_epochs(5, hidden_layer_sizes=(256, 128), batch_size=256),
        quick_fraction=0.1,
    ),
    Workload(
        "W3-f32", "as W3-f64 with X in float32",
        "classif-100k", "MLPClassifier",
        fixed_epochs(5, hidden_layer_sizes=(256, 128), batch_size=256),
        dtype="float32", quick_fraction=0.1,
    ),
    Workload(
        "W4", "50k x 50 regression, (128,64) adam batch 256, 10 epochs",
        "regression-50k", "MLPRegressor",
        fixed_epochs(10, hidden_layer_sizes=(128, 64), batch_size=256),
        quick_fraction=0.1,
    ),
    Workload(
        "W5", "as W3-f64 with activation='tanh'",
        "classif-100k", "MLPClassifier",
        fixed_epochs(5, hidden_layer_sizes=(256, 128), batch_size=256, activation="tanh"),
        quick_fraction=0.1,
    ),
    Workload(
        "W6", "50k x 40, 4 classes, (200,100) logistic adam batch 128, 5 epochs, float32",
        "classif-50k", "MLPClassifier",
        fixed_epochs(5, hidden_layer_sizes=(200, 100), activation="logistic", batch_size=128),
        dtype="float32", quick_fraction=0.1,
    ),
    Workload(
        "digits-lbfgs", "digits, lbfgs (max_iter 200)",
        "digits", "MLPClassifier",
        dict(hidden_layer_sizes=(100,), solver="lbfgs", max_iter=200, random_state=0),
        full_only=True,
    ),
    Workload(
        "digits-sgd-bs1", "digits, sgd batch 1, lr 0.001, 5 epochs",
        "digits", "MLPClassifier",
        fixed_epochs(5, hidden_layer_sizes=(100,), solver="sgd", batch_size=1, learning_rate_init=0.001),
        full_only=True,
    ),
    Workload(
        "S1", "5k x 2^18 sparse (40 stored a row), (20,) adam, 3 epochs",
        "hashed-2^18", "MLPClassifier",
        fixed_epochs(3, hidden_layer_sizes=(20,)),
        full_only=True, sklearn_repeats=3,
    ),
    Workload(
        "S2", "5k x 2^16 sparse (40 stored a row), (20,) lbfgs, 30 iterations",
        "hashed-2^16", "MLPClassifier",
        fixed_epochs(30, hidden_layer_sizes=(20,), solver="lbfgs"),
        full_only=True,
    ),
]

WORKLOADS_BY_NAME = {w.name: w for w in WORKLOADS}


_split_cache = {}


def load_split(dataset):
    """(X_train, X_test, y_train, y_test) in float64, standardized on the
    training split; regression targets standardized too. Cached."""
    if dataset not in _split_cache:
        X, y, is_regression = DATASETS[dataset]()
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        if not sp.issparse(X):
            scaler = StandardScaler().fit(X_train)
            X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        if is_regression:
            mean, std = y_train.mean(), y_train.std()
            y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
        _split_cache[dataset] = (X_train, X_test, y_train, y_test)
    return _split_cache[dataset]


def workload_data(workload, quick=False):
    """The workload's (X_train, X_test, y_train, y_test), cast to its dtype
    and, with ``quick``, with the training set cut to ``quick_fraction``."""
    X_train, X_test, y_train, y_test = load_split(workload.dataset)
    if quick and workload.quick_fraction < 1.0:
        n = max(1, int(round(workload.quick_fraction * X_train.shape[0])))
        X_train, y_train = X_train[:n], y_train[:n]
    dtype = np.dtype(workload.dtype)
    if sp.issparse(X_train):
        return X_train.astype(dtype), X_test.astype(dtype), y_train, y_test
    return (
        np.ascontiguousarray(X_train, dtype=dtype),
        np.ascontiguousarray(X_test, dtype=dtype),
        y_train,
        y_test,
    )


def select(names=None, quick=False):
    """Workloads to run: by name (case-insensitive) when ``names`` is given,
    else all (without the full-only ones in quick mode)."""
    if names is None:
        return [w for w in WORKLOADS if not (quick and w.full_only)]
    lookup = {w.name.lower(): w for w in WORKLOADS}
    chosen = {lookup[n.lower()].name for n in names}
    return [w for w in WORKLOADS if w.name in chosen]


def jsonable_params(params):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
