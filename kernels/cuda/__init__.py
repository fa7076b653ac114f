"""``numba.cuda`` twins of the CPU kernels (same names, same argument order).

Only imported when a fit asks for ``device="cuda"``: ``import fastnn`` never
touches CUDA. Host functions (no suffix) take device arrays (``d_``
prefixed) and launch the ``*_kernel`` functions.

Every reduction here is done in a fixed order (matrix products sum over k
in sequence, through shared-memory tiles; gradients over rows in
sequence, tile partials in tile order), so a given ``random_state`` gives
the same model twice: no float atomics. Mini-batch training runs the fused
per-tile step of ``fused.py`` (two launches per batch) wherever a tile of
rows fits in shared memory, and layer by layer otherwise.
"""

from . import _math  # noqa: F401  (the GPU's exp and friends, before any kernel compiles)
from .activations import activation_backward, activation_forward, dropout_forward
from .dense import dense_backward, dense_forward, gather_rows, matmul
from .epochs import minibatch_epoch, minibatch_epochs
from .losses import loss_sum, output_delta
from .network import loss_grad, predict
from .optimizers import adam_step, finish_grad, sgd_step

__all__ = [
    "activation_backward",
    "activation_forward",
    "adam_step",
    "dense_backward",
    "dense_forward",
    "dropout_forward",
    "finish_grad",
    "gather_rows",
    "loss_grad",
    "loss_sum",
    "matmul",
    "minibatch_epoch",
    "minibatch_epochs",
    "output_delta",
    "predict",
    "sgd_step",
]
