"""The host functions that run the optimizer step component (in
``compiled/optimizers.py``) on whole arrays (twins of
``kernels.cuda.optimizers``).

``params``, ``grad`` and the optimizer state (``moment1``: SGD's
velocities or Adam's first moments; ``moment2``: Adam's second moments)
share one layout (``kernels.layout``), so one loop updates the whole
network. The steps work on the raw sums of a backward pass and finish
each entry as they read it.
"""

import numpy as np

from .. import codes
from ._calls import as_bytes, compiled, named, run

#: What the step component does (its first argument).
STEP = 0  # an optimizer step on raw gradient sums
SQNORM = 1  # nothing but the penalty's sum of squares
FINISH = 2  # finish the raw sums into the gradient, in place (finish_grad)


def step_name(solver, dtype):
    """The unit name (and qualified name) of ``step_component``."""
    return f"step_{int(solver)}_{np.dtype(dtype).name}"


def step_spec(solver, dtype):
    """The spec (see ``_calls.run``) of the step component."""
    return ("optimizers", "step_component"), step_name, (int(solver), np.dtype(dtype).type)


def step_call(solver, mode, params, moment1, moment2, grad, n_coef, alpha=0.0, sw_sum=1.0,
               lr=0.0, momentum=0.0, nesterov=False, beta1=0.0, beta2=0.0, eps=0.0):
    """The step component of ``solver`` in ``mode`` on whole arrays; returns
    the weights' sum of squares."""
    dtype = params.dtype.type
    return run(lambda: named(dtype, "optimizer kernels"), ("optimizers", "step_kernel"), (),
               [step_spec(solver, dtype)],
               lambda step: (step, mode, as_bytes(params), as_bytes(moment1), as_bytes(moment2),
                             as_bytes(grad), params.shape[0], int(n_coef), float(alpha),
                             float(sw_sum), float(lr), float(momentum), bool(nesterov),
                             float(beta1), float(beta2), float(eps), True))


def sgd_step(params, velocity, grad, n_coef, alpha, sw_sum, lr, momentum, nesterov):
    """One SGD step with (Nesterov) momentum on the raw gradient sums
    ``grad`` (finished as ``finish_grad`` would; ``grad`` left as it was):
    the step of the training drivers."""
    step_call(codes.SGD, STEP, params, velocity, velocity, grad, n_coef, alpha, sw_sum, lr,
               momentum, nesterov)


def adam_step(params, m, v, grad, n_coef, alpha, sw_sum, lr, beta1, beta2, eps):
    """One Adam step with the bias-corrected step size ``lr`` (adam_lr) on
    the raw gradient sums ``grad``, as ``sgd_step``."""
    step_call(codes.ADAM, STEP, params, m, v, grad, n_coef, alpha, sw_sum, lr, beta1=beta1,
               beta2=beta2, eps=eps)


def finish_grad(grad, params, n_coef, alpha, sw_sum):
    """Raw gradient sums into scikit-learn's gradient, in place: weights
    (the first ``n_coef``) (sum + alpha * W) / sw_sum, intercepts sum /
    sw_sum."""
    step_call(codes.ADAM, FINISH, params, params, params, grad, n_coef, alpha, sw_sum)


def adam_lr(lr, beta1, beta2, t):
    """Adam's bias-corrected step size at step ``t``, compiled as the
    drivers compute it (in the dtype of ``lr``)."""
    return compiled("optimizers", "adam_lr")(lr, beta1, beta2, t)


def claim_lines(a):
    """Take every cache line of ``a`` for writing, values unchanged (see
    ``compiled/optimizers.py``)."""
    compiled("optimizers", "claim_lines")(a)
