"""Conversion between fastnn and scikit-learn MLPs (and, through
scikit-learn, to ONNX with skl2onnx)."""

import sklearn.neural_network as sk_nn
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._params import pack

SKLEARN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")

#: Parameters fastnn has and scikit-learn's MLPs do not.
FASTNN_ONLY = ("device", "scoring", "progress", "class_weight", "negative_slope", "dropout",
               "huber_delta")

#: Training losses whose model (identity output) scikit-learn expresses
#: with loss="squared_error": the loss shapes training, not prediction.
_IDENTITY_OUTPUT_LOSSES = ("absolute_error", "huber")

#: Fitted state that makes an MLP predict (plus its training record).
_FITTED = ("coefs_", "intercepts_", "n_layers_", "n_outputs_", "out_activation_",
           "n_features_in_", "feature_names_in_", "classes_", "_label_binarizer",
           "n_iter_", "t_", "loss_", "loss_curve_", "best_loss_", "validation_scores_",
           "best_validation_score_")


def _copy_fitted(src, dst):
    for name in _FITTED:
        if hasattr(src, name):
            value = getattr(src, name)
            if name in ("coefs_", "intercepts_"):
                value = [a.copy() for a in value]
            elif isinstance(value, list):
                value = list(value)
            setattr(dst, name, value)
    return dst


def to_sklearn(est):
    """A fitted ``sklearn.neural_network`` MLP with the same parameters and
    weights, so the same predictions. fastnn's own parameters are dropped,
    and a regressor trained with loss="absolute_error" or "huber" becomes
    one with loss="squared_error" (the same identity-output network)."""
    check_is_fitted(est)
    if est.activation not in SKLEARN_ACTIVATIONS:
        raise ValueError(
            f"activation={est.activation!r} has no scikit-learn equivalent "
            f"(scikit-learn's MLPs offer {', '.join(SKLEARN_ACTIVATIONS)}); this model "
            "cannot be converted."
        )
    sk_class = sk_nn.MLPClassifier if is_classifier(est) else sk_nn.MLPRegressor
    params = {k: v for k, v in est.get_params(deep=False).items() if k not in FASTNN_ONLY}
    if params.get("loss") in _IDENTITY_OUTPUT_LOSSES:
        params["loss"] = "squared_error"
    return _copy_fitted(est, sk_class(**params))


def from_sklearn(cls, sk_est):
    """A fastnn estimator of class ``cls`` from a fitted scikit-learn MLP of
    the same kind."""
    sk_class = getattr(sk_nn, cls.__name__)
    if not isinstance(sk_est, sk_class):
        raise ValueError(
            f"{cls.__name__}.from_sklearn needs a fitted sklearn.neural_network."
            f"{cls.__name__}, got {type(sk_est).__name__}."
        )
    check_is_fitted(sk_est)
    est = cls(**sk_est.get_params(deep=False))
    _copy_fitted(sk_est, est)
    # fastnn's own bookkeeping, so training can go on (warm_start, partial_fit)
    est.device_ = "cpu"
    est.validation_loss_curve_ = None
    est._no_improvement_count = getattr(sk_est, "_no_improvement_count", 0)
    est._best_params = pack(est.coefs_, est.intercepts_, est.coefs_[0].dtype)
    return est
