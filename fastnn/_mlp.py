"""MLPClassifier and MLPRegressor: scikit-learn's estimators, fastnn's kernels.

Parameters, validation, fitted attributes and errors follow scikit-learn
1.9.1's ``sklearn.neural_network`` so the estimators are drop-in
replacements; the numeric work happens in ``fastnn.kernels``.
"""

import copy
import warnings
from contextlib import contextmanager
from functools import partial
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.metrics import accuracy_score, check_scoring, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d, compute_sample_weight
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .kernels import codes
from ._backend import get_backend
from ._callbacks import CallbackSupportMixin, EpochHooks, with_callbacks
from ._interop import from_sklearn, to_sklearn
from ._params import init_params, pack, unpack
from ._training import Record, Setup, Validation, fit_lbfgs, fit_stochastic

_STOCHASTIC_SOLVERS = ("sgd", "adam")


def _binarized(label_binarizer, y, dtype, chunk=16384):
    """``label_binarizer.transform(y).astype(dtype)``, a chunk of rows at a
    time: the binarizer's int64 output for all rows at once would be a
    transient copy as large as the result (twice as large for float32)."""
    first = label_binarizer.transform(y[:chunk]).astype(dtype)
    n = y.shape[0]
    if n <= chunk:
        return first
    Y = np.empty((n, first.shape[1]), dtype=dtype)
    Y[:chunk] = first
    for start in range(chunk, n, chunk):
        Y[start : start + chunk] = label_binarizer.transform(y[start : start + chunk])
    return Y


def _model_dtype(coefs):
    """The float dtype a model's weights train in: float32 stays float32,
    anything else is float64."""
    return np.float32 if np.asarray(coefs[0]).dtype == np.float32 else np.float64


#: Rows converted at a time when prediction input has another dtype.
CONVERT_ROWS = 65536


class BaseMultilayerPerceptron(CallbackSupportMixin, BaseEstimator):
    """Shared machinery of the two estimators (not for direct use)."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu", "elu", "softplus",
                                   "leaky_relu", "gelu", "silu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "device": [StrOptions({"cpu", "cuda"})],
        "scoring": [None, str, callable],
        "progress": ["boolean"],
        "negative_slope": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
    }

    # -- fitting -----------------------------------------------------------

    @contextmanager
    def _unchanged_on_error(self):
        """Leave the estimator exactly as it was if the block raises (fits
        replace attributes rather than mutate them, so a shallow copy of
        the attribute dict is enough)."""
        before = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit(self, X, y, sample_weight=None, incremental=False, validation=(None, None, None)):
        with self._unchanged_on_error():
            return self._fit_unguarded(X, y, sample_weight, incremental, validation)

    def _fit_unguarded(self, X, y, sample_weight, incremental, validation):
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if np.any(np.array(hidden_layer_sizes) <= 0):
            raise ValueError("hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)

        backend = get_backend(self.device)
        drop = self._dropout_rates(len(hidden_layer_sizes))  # checked before any work
        # A model that goes on training keeps its dtype, whatever the new data's.
        dtype = (np.float64, np.float32) if first_pass else _model_dtype(self.coefs_)
        X, y, class_sw = self._validate_input(
            X, y, incremental, reset=first_pass or not hasattr(self, "n_features_in_"),
            dtype=dtype,
        )
        n_samples, n_features = X.shape
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        if class_sw is not None:  # class weights scale sample weights, as in linear models
            if not (np.isfinite(class_sw).all() and (class_sw >= 0).all()):
                raise ValueError(
                    "class_weight must give every class a finite, non-negative "
                    f"weight; got class_weight={self.class_weight!r}."
                )
            class_sw = class_sw.astype(X.dtype)
            sample_weight = class_sw if sample_weight is None else sample_weight * class_sw
            if not np.any(sample_weight > 0):
                raise ValueError(
                    "class_weight and sample_weight together leave no sample with a "
                    "positive weight."
                )
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        units = [n_features] + hidden_layer_sizes + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)

        if first_pass:
            params = self._initialize(y, units, X.dtype)
        else:
            params = self._continue_from(units, X.dtype)
        units_arr = np.asarray(units, dtype=np.int64)
        validation = self._validation_data(*validation, X.dtype)
        if self.scoring not in (None, "loss"):
            try:  # fail before training, with the parameter's name
                check_scoring(self, scoring=self.scoring)
            except ValueError as exc:
                raise ValueError(
                    f"scoring={self.scoring!r} is neither 'loss' nor a scikit-learn "
                    f"scorer. {exc}"
                ) from exc

        record = Record.of(self)
        with backend.device_errors():
            if self.solver in _STOCHASTIC_SOLVERS:
                if self.early_stopping and incremental:
                    raise ValueError("partial_fit does not support early_stopping=True")
                if validation is None and self.early_stopping:
                    X, y, sample_weight, validation = self._early_stopping_split(
                        X, y, sample_weight)
                setup = self._setup(X.dtype, incremental, drop, X.shape[0], validation, units)
                record = fit_stochastic(setup, record, X, y, sample_weight, params, units_arr,
                                        backend, validation)
            else:
                setup = self._setup(X.dtype, incremental, drop, X.shape[0], None, units)
                record = fit_lbfgs(setup, record, X, y, sample_weight, params, units_arr,
                                   backend)

        if not np.isfinite(params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        # The fitted attributes, in one place.
        record.apply_to(self)
        self.coefs_, self.intercepts_ = unpack(params, units)
        self.device_ = backend.name
        return self

    def _setup(self, dtype, incremental, drop, n_samples, validation, units):
        """What the training loop takes of this estimator (see
        ``_training.Setup``)."""
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        return Setup(
            solver=self.solver, net_codes=self._codes(dtype), random_state=self._random_state,
            hooks=partial(EpochHooks, self), user_targets=self._user_targets, alpha=self.alpha,
            max_iter=self.max_iter, tol=self.tol, verbose=self.verbose, batch_size=batch_size,
            shuffle=self.shuffle, n_iter_no_change=self.n_iter_no_change,
            early_stopping=self.early_stopping, incremental=incremental,
            learning_rate=self.learning_rate, learning_rate_init=self.learning_rate_init,
            power_t=self.power_t, momentum=self.momentum, nesterov=self.nesterovs_momentum,
            beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon, max_fun=self.max_fun,
            drop=drop, score=partial(self._validation_score, units=units, validation=validation),
        )

    def _user_targets(self, Y):
        """The network's targets ``Y`` as the user gave them (class labels,
        1-D for one output), for callbacks that score the model on them."""
        if is_classifier(self):
            return self._label_binarizer.inverse_transform(Y)
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _validation_data(self, X_val, y_val, sample_weight_val, dtype):
        """The user's validation set, validated like the training data, or
        None."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val needs X_val and y_val.")
            return None
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together.")
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise ValueError(
                "Validation data (X_val, y_val) is used by solver='sgd' and "
                f"'adam'; got solver={self.solver!r}."
            )
        X_val, y_val = validate_data(
            self, X_val, y_val, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=dtype, reset=False, y_numeric=not is_classifier(self),
        )
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        if is_classifier(self):
            unknown = np.setdiff1d(unique_labels(y_val), self.classes_)
            if len(unknown):
                raise ValueError(f"y_val has classes not in the training data: {unknown}.")
            Y = _binarized(self._label_binarizer, y_val, dtype)
        else:
            Y = y_val.reshape((y_val.shape[0], -1)).astype(dtype)
            if Y.shape[1] != self.n_outputs_:
                raise ValueError(
                    f"y_val has {Y.shape[1]} outputs, y has {self.n_outputs_}."
                )
        if sample_weight_val is not None:
            sample_weight_val = _check_sample_weight(
                sample_weight_val, X_val, dtype=dtype, ensure_non_negative=True
            )
        return Validation(X_val, y_val, Y, sample_weight_val)

    def _early_stopping_split(self, X, y, sample_weight):
        """scikit-learn's early-stopping split: stratified for single-output
        classifiers, drawn from the estimator's RandomState. Returns the
        training part and the held-out Validation."""
        if self.validation_fraction == 0:
            raise ValueError(
                "early_stopping=True holds out validation_fraction of the data, and "
                "validation_fraction=0 holds out nothing: give validation_fraction in "
                "(0, 1), or a validation set (X_val, y_val)."
            )
        # scikit-learn stratifies single-output classification by its boolean
        # binarized labels: the same labels give the same split.
        stratify = y.astype(bool) if (is_classifier(self) and self.n_outputs_ == 1) else None
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        try:
            parts = train_test_split(
                *arrays,
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
        except ValueError as exc:
            if stratify is None or "too few members" not in str(exc):
                raise
            labels, counts = np.unique(self._label_binarizer.inverse_transform(y), return_counts=True)
            raise ValueError(
                f"{exc} (the binarized labels of the early-stopping split; of the classes "
                f"of y, {labels[counts < 2].tolist()} have fewer than 2 members)"
            ) from exc
        X_train, X_val, y_train, Y_val = parts[:4]
        sw_train, sw_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        y_val = self._label_binarizer.inverse_transform(Y_val) if is_classifier(self) else Y_val
        return X_train, y_train, sw_train, Validation(X_val, y_val, Y_val, sw_val)

    def _validation_score(self, params, out, val_loss, units, validation):
        """What early stopping maximizes: scoring=None, the estimator's own
        score (scikit-learn's choice); "loss", minus the validation loss;
        otherwise the named or given scikit-learn scorer. ``out`` is the
        network's output on the validation set."""
        if self.scoring is None:
            return self._score_outputs(out, validation.y, validation.sample_weight)
        if self.scoring == "loss":
            return -val_loss
        # The scorer calls predict: on a copy of this estimator with the
        # candidate weights (this one is not changed in the middle of a fit).
        candidate = copy.copy(self)
        candidate.coefs_, candidate.intercepts_ = unpack(params.copy(), units)
        scorer = check_scoring(candidate, scoring=self.scoring)
        kwargs = {} if validation.sample_weight is None else {
            "sample_weight": validation.sample_weight}
        return scorer(candidate, validation.X, validation.y, **kwargs)

    def _untrained_state(self, units):
        """scikit-learn's fitted-state attributes of a model before its first
        iteration, by name."""
        if not is_classifier(self):
            out_activation = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            out_activation = "softmax"
        else:
            out_activation = "logistic"
        state = {"n_iter_": 0, "t_": 0, "n_layers_": len(units),
                 "out_activation_": out_activation}
        if self.solver in _STOCHASTIC_SOLVERS:
            state.update(
                loss_curve_=[], validation_loss_curve_=None, _no_improvement_count=0,
                best_loss_=None if self.early_stopping else np.inf,
                validation_scores_=[] if self.early_stopping else None,
                best_validation_score_=-np.inf if self.early_stopping else None,
            )
        return state

    def _initialize(self, y, units, dtype):
        """First fit: scikit-learn's fitted-state defaults and fresh weights."""
        self.__dict__.update(self._untrained_state(units))
        params = init_params(units, self.activation, self._random_state, dtype)
        self._best_params = params.copy()
        return params

    def _continue_from(self, units, dtype):
        """warm_start / partial_fit: the current weights, checked against the
        network the parameters and data now describe. State the model does
        not have yet (an lbfgs fit continued with sgd, weights assigned by
        hand) starts as a first fit's would."""
        coefs = [np.asarray(c) for c in self.coefs_]
        shapes = [c.shape for c in coefs]
        expected = list(zip(units[:-1], units[1:]))
        if (shapes != expected or len(self.intercepts_) != len(expected)
                or [np.shape(b) for b in self.intercepts_] != [(n,) for n in units[1:]]):
            raise ValueError(
                "The network shape implied by hidden_layer_sizes, the number of "
                f"features and of outputs ({units}) does not match the fitted "
                f"coefs_ ({[s for s in shapes]}) and intercepts_; fit again "
                "without warm_start."
            )
        for name, value in self._untrained_state(units).items():
            if not hasattr(self, name):
                setattr(self, name, value)
        params = pack(coefs, [np.asarray(b) for b in self.intercepts_], dtype)
        if not hasattr(self, "_best_params"):
            self._best_params = params.copy()
        return params

    def _codes(self, dtype):
        """The network as the kernels take it: (hidden activation code, its
        parameter, output activation code, loss code, its parameter), the
        parameters as ``dtype`` scalars."""
        loss = self.loss
        if loss == "log_loss" and self.out_activation_ == "logistic":
            loss = "binary_log_loss"
        cast = np.dtype(dtype).type
        return (
            codes.ACTIVATIONS[self.activation],
            cast(self.negative_slope),
            codes.ACTIVATIONS[self.out_activation_],
            codes.LOSSES[loss],
            cast(getattr(self, "huber_delta", 1.0)),
        )

    def _dropout_rates(self, n_hidden):
        """The dropout rate of each hidden layer (float64), from ``dropout``
        (one rate for all, or one per hidden layer)."""
        rates = np.asarray(self.dropout, dtype=np.float64)
        if rates.ndim == 0:
            rates = np.full(n_hidden, float(rates))
        if rates.shape != (n_hidden,) or not np.all((rates >= 0) & (rates < 1)):
            raise ValueError(
                "dropout must be a rate in [0, 1) or one such rate per hidden "
                f"layer ({n_hidden}); got {self.dropout!r}."
            )
        if self.solver == "lbfgs" and rates.any():
            raise ValueError(
                "dropout needs solver='sgd' or 'adam' (lbfgs minimises a "
                "deterministic full-batch loss); got solver='lbfgs'."
            )
        return rates

    @with_callbacks
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers
            in regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        X_val, y_val : array-like, default=None
            A validation set (sgd and adam), as HistGradientBoosting takes
            it: with ``early_stopping=True`` it replaces the split of
            ``validation_fraction`` of X; either way its loss (without the
            L2 penalty) is recorded after each epoch in
            ``validation_loss_curve_``.
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight=sample_weight, incremental=False,
                         validation=(X_val, y_val, sample_weight_val))

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    # -- prediction --------------------------------------------------------

    def _forward(self, X, params=None, units=None, device="cpu"):
        """Network output for validated X, from ``params`` (default: the
        fitted coefs_/intercepts_), in bounded-size row chunks, on
        ``device``."""
        if params is None:
            units = np.array([c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]])
            dtype = np.float32 if (X.dtype == np.float32 and self.coefs_[0].dtype == np.float32) else np.float64
            params = pack(self.coefs_, self.intercepts_, dtype, reuse=True)
        dtype = params.dtype
        hidden_code, act_param, out_code, _, _ = self._codes(dtype)
        units = np.asarray(units, dtype=np.int64)
        out = np.empty((X.shape[0], units[-1]), dtype=dtype)
        backend = get_backend(device)
        # Input of another dtype (float32 into a float64 model, integers) is
        # converted, and input for the GPU transferred, one block at a time,
        # so memory stays bounded.
        whole = backend.name == "cpu" and (X.dtype == dtype or sp.issparse(X))
        step = max(1, X.shape[0]) if whole else CONVERT_ROWS
        with backend.device_errors():
            for start in range(0, X.shape[0], step):
                block = X[start : start + step]
                if block.dtype != dtype:
                    block = block.astype(dtype)
                backend.predict(out[start : start + step], block, params, units,
                                hidden_code, act_param, out_code)
        return out

    def _forward_pass_fast(self, X, check_input=True):
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return self._forward(X, device=self.device)

    def _score_outputs(self, out, y, sample_weight):
        """The estimator's score from network outputs (early stopping)."""
        y_pred = self._output_to_prediction(out)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return self._score_function(y, y_pred, sample_weight=sample_weight)

    def _predict(self, X, check_input=True):
        return self._output_to_prediction(self._forward_pass_fast(X, check_input=check_input))

    def to_sklearn(self):
        """This fitted model as a fitted ``sklearn.neural_network`` estimator
        (same parameters, weights and predictions; fastnn-only parameters
        are dropped). Export it to ONNX with skl2onnx."""
        return to_sklearn(self)

    @classmethod
    def from_sklearn(cls, estimator):
        """A fitted fastnn model from a fitted scikit-learn MLP of the same
        kind (its parameters, weights and training record)."""
        return from_sklearn(cls, estimator)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_PARAMS_DOC = """
    Parameters, defaults and meanings are scikit-learn 1.9.1's; see
    ``sklearn.neural_network.{name}``. Fitted attributes: ``coefs_``,
    ``intercepts_``, ``loss_``, ``loss_curve_``, ``best_loss_``,
    ``validation_scores_``, ``best_validation_score_``, ``t_``, ``n_iter_``,
    ``n_layers_``, ``n_outputs_``, ``out_activation_``,{extra}
    ``n_features_in_`` and ``feature_names_in_``.

    One parameter is fastnn's own: ``device`` ("cpu", the default, or
    "cuda"), where ``fit`` and ``predict`` run. With "cuda" the data,
    weights and optimizer state stay on the GPU for the whole fit (sgd and
    adam; lbfgs computes its loss and gradient there; dense input only);
    where CUDA cannot run it raises instead of falling
    back to the CPU. The device a model was fitted on is ``device_``; its
    weights are NumPy arrays, so a GPU-fitted model pickles and predicts on
    the CPU after ``set_params(device="cpu")``.

    ``scoring`` (fastnn's own; None, "loss" or a scikit-learn scorer) is
    what early stopping maximizes: None is the estimator's ``score`` (as in
    scikit-learn), "loss" minus the validation loss. ``fit`` also takes a
    validation set (``X_val``, ``y_val``, ``sample_weight_val``), whose
    loss is recorded per epoch in ``validation_loss_curve_``.

    ``activation`` also takes "leaky_relu" (negative inputs times
    ``negative_slope``, fastnn's own, default 0.01), "elu", "softplus",
    "gelu" and "silu". ``dropout`` (fastnn's own, default 0.0): the rate of
    inverted dropout on every hidden layer, or one rate per hidden layer;
    sgd and adam only, training only, reproducible from ``random_state``.

    ``progress`` (fastnn's own, default False) shows a tqdm progress bar
    over epochs (sgd, adam) or L-BFGS iterations (loss, validation score,
    time left), or one line per epoch where tqdm is not installed. With scikit-learn
    1.9's experimental callback API, ``set_callbacks(...)`` attaches
    callbacks that see each epoch or L-BFGS iteration (and a fitted copy
    of the model at its end) and can stop training.

    Differences from scikit-learn, all deliberate: training runs in
    compiled kernels; float32 input trains and predicts in float32 with
    every solver; sparse input is never densified whole; for multi-output
    squared error, lbfgs uses the gradient of the loss it reports
    (scikit-learn's is ``n_outputs`` times too large, scikit-learn#8349);
    ``partial_fit`` is not offered with ``solver='lbfgs'``; a fit that
    raises leaves the estimator as it was; a Ctrl-C during sgd/adam keeps
    the model of the last completed epoch.
"""


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    __doc__ = (
        "Multi-layer perceptron classifier trained by compiled kernels.\n"
        + _PARAMS_DOC.format(name="MLPClassifier", extra=" ``classes_``,")
        + """
    ``class_weight`` (fastnn's own; None, "balanced" or a dict
    ``{class_label: weight}``, a list of such dicts for multilabel y)
    weights each sample by its class, as scikit-learn's linear classifiers
    do: the weights multiply ``sample_weight``. "balanced" uses
    ``n_samples / (n_classes * np.bincount(y))`` and is refused by
    ``partial_fit``, where a batch's class frequencies are not the data's.
"""
    )

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        device="cpu",
        scoring=None,
        progress=False,
        class_weight=None,
        negative_slope=0.01,
        dropout=0.0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.device = device
        self.scoring = scoring
        self.progress = progress
        self.class_weight = class_weight
        self.negative_slope = negative_slope
        self.dropout = dropout

    loss = "log_loss"

    def _validate_input(self, X, y, incremental, reset, dtype):
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=dtype, reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        class_sw = None
        if self.class_weight is not None:
            if incremental and isinstance(self.class_weight, str):
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit: one "
                    "batch's class frequencies are not the data's. Compute the "
                    "weights once, e.g. compute_class_weight('balanced', "
                    "classes=classes, y=y) on a large enough sample of the targets, "
                    "and pass them as a dict."
                )
            class_sw = compute_sample_weight(self.class_weight, y)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        y = _binarized(self._label_binarizer, y, X.dtype)
        return X, y, class_sw

    def _output_to_prediction(self, y_pred):
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    @staticmethod
    def _score_function(y, y_pred, sample_weight=None):
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        check_is_fitted(self)
        return self._predict(X)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None, *, X_val=None, y_val=None,
                    sample_weight_val=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first
            call, ignored afterwards.
        X_val, y_val : array-like, default=None
            A validation set: its loss after this update is appended to
            ``validation_loss_curve_`` (one point per call).
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
            The trained model.
        """
        self._validate_params()
        with self._unchanged_on_error():
            if _check_partial_fit_first_call(self, classes):
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)
            return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                             validation=(X_val, y_val, sample_weight_val))

    def predict_log_proba(self, X):
        """Log of the probability estimates, ``log(predict_proba(X))``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            Log-probability of each class, in the order of ``classes_``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``.
        """
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    __doc__ = (
        "Multi-layer perceptron regressor trained by compiled kernels.\n"
        + _PARAMS_DOC.format(name="MLPRegressor", extra="")
        + """
    ``loss`` also takes "absolute_error" and "huber" (robust to outliers in
    y; Huber's threshold is ``huber_delta``, fastnn's own, default 1.0, in
    units of y). Both average over outputs; the output stays the identity.
"""
    )

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        device="cpu",
        scoring=None,
        progress=False,
        negative_slope=0.01,
        dropout=0.0,
        huber_delta=1.0,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.device = device
        self.scoring = scoring
        self.progress = progress
        self.negative_slope = negative_slope
        self.dropout = dropout
        self.huber_delta = huber_delta

    def _validate_input(self, X, y, incremental, reset, dtype):
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            y_numeric=True, dtype=dtype, reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (np.any(y < 0) or np.sum(y) <= 0):
            raise ValueError(
                "Some value(s) of y are negative or the sum of y is not positive, "
                "which is not allowed for loss='poisson'."
            )
        return X, y, None

    def _output_to_prediction(self, y_pred):
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred

    @staticmethod
    def _score_function(y, y_pred, sample_weight=None):
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        check_is_fitted(self)
        return self._predict(X)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
                    sample_weight_val=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        X_val, y_val : array-like, default=None
            A validation set: its loss after this update is appended to
            ``validation_loss_curve_`` (one point per call).
        sample_weight_val : array-like of shape (n_val_samples,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : object
            The trained model.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight=sample_weight, incremental=True,
                         validation=(X_val, y_val, sample_weight_val))
