"""Optimizer steps on one flat parameter buffer, as scikit-learn takes them.

``params``, ``grad`` and the state buffers share one layout (every coef
raveled, then every intercept), so one loop updates the whole network.

Each step comes in two forms: on a finished gradient (``sgd_step``,
``adam_step``), and on the raw sums of a backward pass (``sgd_step_raw``,
``adam_step_raw``), which finish each entry as they read it, with
``network.finish_grad``'s arithmetic: one pass over the buffers per batch
instead of two. ``grad`` itself is left as it was.
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import jit, jit_inner, jit_scalar


@intrinsic
def _store_own_bits(typingctx, arr, idx):
    """Store ``arr[idx]``'s own bits back, as an integer of its width: no
    value changes (not even -0.0 or a NaN's payload). The store is atomic
    (monotonic, a plain store on x86), so LLVM keeps it."""
    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        array = context.make_array(arrty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arrty, array, [args[1]])
        width = arrty.dtype.bitwidth
        iptr = builder.bitcast(ptr, ir.IntType(width).as_pointer())
        builder.store_atomic(builder.load(iptr), iptr, "monotonic", width // 8)
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@jit
def own_lines(a):
    """Take every cache line of ``a`` for writing, values unchanged: one
    store per 64 bytes.

    After a product in which a BLAS thread on another core read the
    weights, each of their lines is shared with that core, and a step's
    store to it waits until the other copy is invalidated. In the Adam
    step those waits queue behind the divides and square roots; a pass of
    bare stores first has many in flight and takes the lines far faster
    (bench/epoch_profile.py's epoch with the pass switched off and on, 2
    BLAS threads, per batch: W3 float32 Adam 41-57 us without it, against
    9 us for this pass and 26-32 us for the step after it; with 1 BLAS
    thread the pass costs 1.4-3 us).
    """
    for k in range(0, a.shape[0], max(1, 64 // a.itemsize)):
        _store_own_bits(a, k)


@jit_inner
def _exact_reciprocal(s):
    """1 / s when that is exact (s a power of two: then x * (1 / s) and
    x / s round the same real number, so they are the same float), else 0.
    A multiply instead of a divide per parameter: the Adam step is bound
    by its divides and square root."""
    inv = type(s)(1.0) / s
    if math.frexp(s)[0] == 0.5 and inv * s == 1.0:
        return inv
    return type(s)(0.0)


@jit_scalar
def _finish(total, sw_sum, inv):
    """A raw gradient sum (plus the penalty) over sw_sum, by ``inv`` from
    _exact_reciprocal when it is not 0."""
    if inv != 0.0:
        return total * inv
    return total / sw_sum


@jit_scalar
def _momentum(p, vel, g, lr, momentum, nesterov):
    """One parameter's SGD update: its new (value, velocity). Inlined, so
    LLVM takes the loop-invariant ``nesterov`` out of the loop."""
    v = momentum * vel - lr * g
    if nesterov:
        return p + (momentum * v - lr * g), v
    return p + v, v


@jit_scalar
def _adam(p, m, v, g, lr, beta1, beta2, eps):
    """One parameter's Adam update: its new (value, m, v)."""
    one = type(p)(1.0)  # keeps float32 arithmetic in float32
    mk = beta1 * m + (one - beta1) * g
    vk = beta2 * v + (one - beta2) * (g * g)
    return p + -lr * mk / (np.sqrt(vk) + eps), mk, vk


@jit
def sgd_step(params, velocity, grad, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum.

    velocity = momentum * velocity - lr * grad; params += velocity, or with
    Nesterov params += momentum * velocity - lr * grad.
    params, velocity, grad : (n_params,).
    """
    for k in range(params.shape[0]):
        params[k], velocity[k] = _momentum(params[k], velocity[k], grad[k], lr, momentum,
                                           nesterov)


@jit
def sgd_step_raw(params, velocity, grad, n_coef, alpha, sw_sum, lr, momentum, nesterov):
    """sgd_step on the gradient that ``finish_grad(grad, params, units,
    alpha, sw_sum)`` would make of the raw sums ``grad``: the first
    ``n_coef`` entries are weights, (sum + alpha * W) / sw_sum; the rest
    intercepts, sum / sw_sum. It follows BLAS products, so it first takes
    ``params``' cache lines (``own_lines``)."""
    own_lines(params)
    inv = _exact_reciprocal(sw_sum)
    for k in range(n_coef):
        g = _finish(grad[k] + alpha * params[k], sw_sum, inv)
        params[k], velocity[k] = _momentum(params[k], velocity[k], g, lr, momentum, nesterov)
    for k in range(n_coef, params.shape[0]):
        g = _finish(grad[k], sw_sum, inv)
        params[k], velocity[k] = _momentum(params[k], velocity[k], g, lr, momentum, nesterov)


@jit
def adam_lr(lr_init, beta1, beta2, t):
    """Adam's bias-corrected step size at step ``t`` (1-based), computed in
    float64 whatever the scalars' dtype, to the bit as scikit-learn does in
    Python: the powers take a float exponent (numba's integer power
    multiplies out and differs from Python's in the last bits)."""
    b1 = np.float64(beta1)
    b2 = np.float64(beta2)
    tf = np.float64(t)
    return np.float64(lr_init) * np.sqrt(1.0 - b2**tf) / (1.0 - b1**tf)


@jit
def adam_step(params, m, v, grad, lr, beta1, beta2, eps):
    """One Adam step with the bias-corrected step size ``lr`` (see adam_lr).

    m = beta1 * m + (1 - beta1) * grad; v = beta2 * v + (1 - beta2) * grad**2;
    params += -lr * m / (sqrt(v) + eps).
    params, m, v, grad : (n_params,).
    """
    for k in range(params.shape[0]):
        params[k], m[k], v[k] = _adam(params[k], m[k], v[k], grad[k], lr, beta1, beta2, eps)


@jit
def adam_step_raw(params, m, v, grad, n_coef, alpha, sw_sum, lr, beta1, beta2, eps):
    """adam_step on raw gradient sums, finished as in sgd_step_raw. It
    follows BLAS products, so it first takes ``params``' cache lines
    (``own_lines``)."""
    own_lines(params)
    inv = _exact_reciprocal(sw_sum)
    for k in range(n_coef):
        g = _finish(grad[k] + alpha * params[k], sw_sum, inv)
        params[k], m[k], v[k] = _adam(params[k], m[k], v[k], g, lr, beta1, beta2, eps)
    for k in range(n_coef, params.shape[0]):
        g = _finish(grad[k], sw_sum, inv)
        params[k], m[k], v[k] = _adam(params[k], m[k], v[k], g, lr, beta1, beta2, eps)
