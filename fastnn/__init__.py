"""fastnn: scikit-learn's MLPClassifier and MLPRegressor, trained by Numba kernels."""


def _find_checkout_kernels():
    """In a source checkout ``kernels/`` stands beside ``fastnn/`` (the
    install makes it ``fastnn.kernels``). Python started in the checkout's
    root imports this ``fastnn/`` ahead of any installed copy; give it the
    checkout's kernels, so the checkout runs as a whole (``python -m
    fastnn warmup`` there included)."""
    import importlib.util
    import os
    import sys

    name = __name__ + ".kernels"
    package = os.path.dirname(os.path.abspath(__file__))
    here = os.path.join(os.path.dirname(package), "kernels")
    init = os.path.join(here, "__init__.py")
    # Installed, the kernels are inside the package and imported as usual.
    # In a checkout they stand beside it, and this checkout's are taken
    # even where an editable install of another checkout would map
    # fastnn.kernels to that one's (bench/paired.py runs two checkouts in
    # one environment).
    if os.path.isdir(os.path.join(package, "kernels")) or not os.path.isfile(init):
        return
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[here])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    globals()["kernels"] = module  # as an import would bind it: fastnn.kernels


_find_checkout_kernels()

from ._display import LossCurveDisplay
from ._mlp import MLPClassifier, MLPRegressor
from ._onnx import install as _install_onnx
from ._warmup import warmup

_install_onnx()  # skl2onnx, where installed, converts fastnn's models

__version__ = "0.1.0"

__all__ = ["LossCurveDisplay", "MLPClassifier", "MLPRegressor", "__version__", "warmup"]
