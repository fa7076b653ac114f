"""``@njit`` CPU kernels (see DESIGN.md, "Kernel conventions")."""

from .activations import activation_backward, activation_forward, dropout_forward
from .dense import dense_backward, dense_forward
from .epochs import minibatch_epoch, sample_epoch
from .losses import loss_sum, output_delta
from .network import (
    backward_pass,
    coef_sqnorm,
    finish_grad,
    forward_pass,
    gather_rows,
    loss_grad,
    n_params,
    predict,
)
from .optimizers import adam_lr, adam_step, adam_step_raw, own_lines, sgd_step, sgd_step_raw

__all__ = [
    "activation_backward",
    "activation_forward",
    "adam_lr",
    "adam_step",
    "adam_step_raw",
    "backward_pass",
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
    "n_params",
    "output_delta",
    "own_lines",
    "predict",
    "sample_epoch",
    "sgd_step",
    "sgd_step_raw",
]
