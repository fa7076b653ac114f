"""ONNX export through skl2onnx: fastnn's estimators registered with it, so
``skl2onnx.to_onnx`` converts them (alone or inside a Pipeline) as the
scikit-learn MLPs they equal (see ``to_sklearn``).

Registration waits for skl2onnx: ``import fastnn`` does not import it
(that would cost every process a quarter of a second). Where skl2onnx is
already imported, fastnn registers at once; otherwise a finder on
``sys.meta_path`` registers right after skl2onnx's own import has run,
and then removes itself.
"""

import importlib.abc
import importlib.util
import sys
import warnings

_state = {"registered": False}


def register():
    """Register MLPClassifier and MLPRegressor with skl2onnx (once). A
    failure (a skl2onnx that moved what this uses) warns, and never breaks
    the import that triggered it."""
    if _state["registered"]:
        return
    try:
        _register()
    except Exception as exc:
        warnings.warn(f"fastnn could not register its estimators with skl2onnx "
                      f"({type(exc).__name__}: {exc}); convert them with "
                      "est.to_sklearn() instead.", RuntimeWarning, stacklevel=2)


def _register():
    from skl2onnx import update_registered_converter
    from skl2onnx._parse import _parse_sklearn_classifier
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from skl2onnx.operator_converters.multilayer_perceptron import (
        convert_sklearn_mlp_classifier,
        convert_sklearn_mlp_regressor,
    )

    from ._mlp import MLPClassifier, MLPRegressor

    update_registered_converter(
        MLPClassifier, "FastnnMLPClassifier", calculate_linear_classifier_output_shapes,
        _as_sklearn(convert_sklearn_mlp_classifier), parser=_parse_sklearn_classifier,
        options={"zipmap": [True, False, "columns"], "output_class_labels": [False, True],
                 "nocl": [True, False]},
    )
    update_registered_converter(
        MLPRegressor, "FastnnMLPRegressor", calculate_linear_regressor_output_shapes,
        _as_sklearn(convert_sklearn_mlp_regressor),
    )
    _state["registered"] = True


#: Output activations skl2onnx's MLP converters write.
_ONNX_OUTPUTS = ("identity", "logistic", "softmax")


def _as_sklearn(convert):
    """skl2onnx's converter ``convert`` applied to the scikit-learn MLP a
    fastnn model equals; a model with no such form is refused."""

    def convert_fastnn(scope, operator, container):
        model = operator.raw_operator
        if model.out_activation_ not in _ONNX_OUTPUTS:
            raise ValueError(
                f"{type(model).__name__} with output activation {model.out_activation_!r} "
                f"(loss={model.loss!r}) has no ONNX form: skl2onnx writes MLP outputs "
                f"{', '.join(_ONNX_OUTPUTS)} only."
            )
        operator.raw_operator = model.to_sklearn()  # refuses fastnn-only activations
        try:
            convert(scope, operator, container)
        finally:
            operator.raw_operator = model

    return convert_fastnn


class _RegisteringLoader(importlib.abc.Loader):
    """skl2onnx's own loader, then ``register``."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        uninstall()
        register()


class _AfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself; the spec of skl2onnx that the other finders
    give gets a loader that runs ``register`` right after skl2onnx's own
    code. Stays installed until that has run (a mere ``find_spec`` for
    skl2onnx, to see whether it is installed, does not use it up)."""

    def __init__(self):
        self.busy = False

    def find_spec(self, name, path=None, target=None):
        if name != "skl2onnx" or self.busy:
            return None
        self.busy = True  # the other finders, not this one again
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy = False
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


_finder = _AfterImport()


def uninstall():
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


def install():
    """Register now if skl2onnx is imported, else right after it is."""
    if "skl2onnx" in sys.modules:
        register()
    elif importlib.util.find_spec("skl2onnx") is not None and _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
