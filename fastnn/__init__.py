"""fastnn: scikit-learn's MLPClassifier and MLPRegressor, trained by Numba kernels."""

from ._display import LossCurveDisplay
from ._mlp import MLPClassifier, MLPRegressor
from ._warmup import warmup

__version__ = "0.1.0"

__all__ = ["LossCurveDisplay", "MLPClassifier", "MLPRegressor", "__version__", "warmup"]
