"""The host functions that run the output-layer component (the *head*, in
``compiled/losses.py``: the output activation, the loss, and the loss's
gradient at the output layer) on whole arrays (twins of
``kernels.cuda.losses``).
"""

import numpy as np

from .. import codes
from ._calls import as_bytes, named, run

#: What the head component does (its first argument).
PREDICT = 0  # the output activation
TRAIN = 1  # and the loss, the output delta and the output intercept gradient
LOSS = 2  # the loss of outputs already activated
DELTA = 3  # the loss and the output delta of outputs already activated

#: The output activation each loss is paired with (its canonical link).
OUTPUT_OF_LOSS = {
    codes.SQUARED_ERROR: codes.IDENTITY,
    codes.POISSON: codes.EXP,
    codes.LOG_LOSS: codes.SOFTMAX,
    codes.BINARY_LOG_LOSS: codes.LOGISTIC,
    codes.ABSOLUTE_ERROR: codes.IDENTITY,
    codes.HUBER: codes.IDENTITY,
}
#: A loss for each output activation, for heads that only activate (in
#: prediction the loss is not used).
LOSS_OF_OUTPUT = {codes.IDENTITY: codes.SQUARED_ERROR, codes.EXP: codes.POISSON,
                  codes.SOFTMAX: codes.LOG_LOSS, codes.LOGISTIC: codes.BINARY_LOG_LOSS}


def head_name(out_code, loss_code, dtype):
    """The unit name (and qualified name) of ``head_component``."""
    return f"head_{int(out_code)}_{int(loss_code)}_{np.dtype(dtype).name}"


def head_spec(out_code, dtype, loss_code=None):
    """The spec (see ``_calls.run``) of the head for ``out_code`` and
    ``loss_code`` (by default the output's canonical loss: for heads that
    only activate)."""
    out_code = int(out_code)
    key = (out_code, int(LOSS_OF_OUTPUT[out_code] if loss_code is None else loss_code),
           np.dtype(dtype).type)
    return ("losses", "head_component"), head_name, key


def _head_call(mode, out_code, loss_code, z, b, y, sw, delta, scale, loss_param):
    """The head of ``out_code`` and ``loss_code`` in ``mode`` on whole
    arrays: returns its loss."""
    dtype = z.dtype.type
    n, m = z.shape
    return run(
        lambda: named(dtype, "loss kernels", loss_code=loss_code), ("losses", "head_kernel"),
        (), [head_spec(out_code, dtype, loss_code)],
        lambda head: (head, mode, as_bytes(z), as_bytes(b),
                      as_bytes(np.asarray(y, dtype=dtype)),
                      as_bytes(np.asarray(sw, dtype=dtype)), as_bytes(delta),
                      as_bytes(z[:0]), n, m, float(loss_param), float(scale), 0.0, np.empty(1)))


def activate_output(z, b, out_code):
    """z = f(z + b) in place for the output activation ``out_code``."""
    _head_call(PREDICT, out_code, LOSS_OF_OUTPUT[out_code], z, b, z[:0], z[:0, 0], z, 0.0, 0.0)


def loss_sum(out, y, sw, loss_code, loss_param):
    """The weighted sum over rows of the loss ``loss_code`` of the network
    outputs ``out`` (n, n_outputs) for targets ``y``, weights ``sw``
    (float64; see ``head_component``)."""
    out = np.ascontiguousarray(out)
    return _head_call(LOSS, OUTPUT_OF_LOSS[int(loss_code)], loss_code, out, out[0, :0], y, sw,
                      out[:0], 1.0, loss_param)


def output_delta(delta, out, y, sw, scale, loss_code, loss_param):
    """The output layer's delta for the loss ``loss_code``, times ``scale``,
    into ``delta`` (see ``head_component``)."""
    out = np.ascontiguousarray(out)
    _head_call(DELTA, OUTPUT_OF_LOSS[int(loss_code)], loss_code, out, out[0, :0], y, sw, delta,
               scale, loss_param)
