"""CPU kernels (see DESIGN.md, "Kernel conventions").

The host functions here take the network's codes (``kernels.codes``) and
typed arrays, as their CUDA twins do, and live in modules of the twins'
names: ``activations``, ``dense``, ``losses``, ``optimizers``,
``network``, ``epochs``. Each picks the compiled components for its codes
and the arrays' dtype (a hidden layer, the head, the optimizer step; see
``compiled/_jit.py``) and runs its compiled kernel (the function of its
name with ``_kernel`` appended, in ``compiled/`` under the module's name)
with them, through ``_calls.run``. Nothing here imports numba: the
kernels are loaded as machine code from the cache (``_native``), and
numba is imported only to compile one that is not there.
"""

from ..layout import n_params
from ._calls import aligned
from .activations import (activation_backward, activation_backward_sum, activation_forward,
                          bias_activation_forward, dropout_forward)
from .dense import dense_backward, dense_forward, gather_rows
from .epochs import minibatch_epoch, minibatch_epochs, sample_epoch, sample_epochs
from .losses import loss_sum, output_delta
from .network import backward_pass, coef_sqnorm, forward_pass, loss_grad, predict
from .optimizers import adam_lr, adam_step, claim_lines, finish_grad, sgd_step

__all__ = [
    "activation_backward",
    "activation_backward_sum",
    "activation_forward",
    "adam_lr",
    "adam_step",
    "aligned",
    "backward_pass",
    "bias_activation_forward",
    "claim_lines",
    "coef_sqnorm",
    "dense_backward",
    "dense_forward",
    "dropout_forward",
    "finish_grad",
    "forward_pass",
    "gather_rows",
    "loss_grad",
    "loss_sum",
    "minibatch_epoch",
    "minibatch_epochs",
    "n_params",
    "output_delta",
    "predict",
    "sample_epoch",
    "sample_epochs",
    "sgd_step",
]
