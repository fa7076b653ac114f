"""Optimizer steps on one flat parameter buffer, as scikit-learn takes them,
and the step component the epoch drivers call.

``params``, ``grad`` and the state buffers share one layout (every coef
raveled, then every intercept), so one loop updates the whole network.

The steps work on the raw sums of a backward pass and finish each entry
as they read it, with ``finish_grad``'s arithmetic: one pass over the
buffers per batch instead of two (see ``step_component``).
"""

import math
from functools import lru_cache

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

from ..codes import SGD
from ..optimizers import adam_lr as _adam_lr
from ._jit import caller, component, jit_inline, jit_sum
from .pointers import carray, typed

adam_lr = jit_inline(_adam_lr)


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


@jit_inline
def own_lines(a):
    """Take every cache line of ``a`` for writing, values unchanged: one
    store per 64 bytes.

    After a product in which a BLAS thread on another core read the
    weights, each of their lines is shared with that core, and a step's
    store to it waits until the other copy is invalidated. In the Adam
    step those waits queue behind the divides and square roots; a pass of
    bare stores first has many in flight and takes the lines far faster
    (a profiled copy of the epoch, 2026-11-22, the pass off and on, 2 BLAS
    threads, per batch: W3 float32 Adam 41-57 us without it, against 9 us
    for this pass and 26-32 us for the step after it; with 1 BLAS thread
    the pass costs 1.4-3 us; docs/performance.md).
    """
    for k in range(0, a.shape[0], max(1, 64 // a.itemsize)):
        _store_own_bits(a, k)


if config.DISABLE_JIT:
    from ._python import own_lines  # noqa: F811


@jit_inline
def _exact_reciprocal(s):
    """1 / s when that is exact (s a power of two: then x * (1 / s) and
    x / s round the same real number, so they are the same float), else 0.
    A multiply instead of a divide per parameter: the Adam step is bound
    by its divides and square root."""
    inv = type(s)(1.0) / s
    if math.frexp(s)[0] == 0.5 and inv * s == 1.0:
        return inv
    return type(s)(0.0)


@jit_inline
def _momentum(p, vel, g, lr, momentum, nesterov):
    """One parameter's SGD update: its new (value, velocity)."""
    v = momentum * vel - lr * g
    if nesterov:
        return p + (momentum * v - lr * g), v
    return p + v, v


@jit_inline
def _adam(p, m, v, g, lr, beta1, beta2, eps):
    """One parameter's Adam update: its new (value, m, v)."""
    one = type(p)(1.0)  # keeps float32 arithmetic in float32
    mk = beta1 * m + (one - beta1) * g
    vk = beta2 * v + (one - beta2) * (g * g)
    return p + -lr * mk / (np.sqrt(vk) + eps), mk, vk


@jit_sum
def sqnorm(params, n_coef):
    """Sum of squares of the first ``n_coef`` entries (the weights), in
    float64: the L2 penalty's value."""
    s = 0.0
    for k in range(n_coef):
        s += np.float64(params[k]) * np.float64(params[k])
    return s


#: What the step component does (its first argument).
STEP = 0  # an optimizer step on raw gradient sums
SQNORM = 1  # nothing but the penalty's sum of squares
FINISH = 2  # finish the raw sums into the gradient, in place (finish_grad)

STEP_SIGNATURE = types.float64(types.int64, types.voidptr, types.voidptr, types.voidptr,
                               types.voidptr, types.intp, types.intp, types.float64,
                               types.float64, types.float64, types.float64, types.boolean,
                               types.float64, types.float64, types.float64, types.boolean)
#: ``call_step(address, *args)``: call the step component at ``address``.
call_step = caller(STEP_SIGNATURE)


def step_name(solver, dtype):
    """The unit name (and qualified name) of ``step_component``."""
    return f"step_{int(solver)}_{np.dtype(dtype).name}"


@lru_cache(maxsize=None)
def step_component(solver, dtype):
    """The compiled optimizer of ``solver`` (codes.SGD or codes.ADAM) and
    float ``dtype``: ``(mode, params, state1, state2, grad, n, n_coef,
    alpha, sw_sum, lr, momentum, nesterov, beta1, beta2, eps, own)`` on the
    n-entry buffers at the pointers, the first ``n_coef`` entries weights:

    - STEP: one step on the gradient ``finish_grad`` would make of the raw
      sums ``grad`` (each entry finished as it is read; ``grad`` left as it
      was), first taking ``params``' cache lines (``own_lines``) when
      ``own``: after BLAS products. Adam: state1, state2 the first and
      second moments m, v, ``lr`` the bias-corrected step size (see
      adam_lr): m = beta1 * m + (1 - beta1) * g, v = beta2 * v + (1 -
      beta2) * g**2, params += -lr * m / (sqrt(v) + eps). SGD (state2
      unused): velocity = momentum * velocity - lr * g, params +=
      velocity, or with Nesterov params += momentum * velocity - lr * g.
      A finished gradient is the case ``n_coef`` 0, ``sw_sum`` 1, to the
      bit;
    - FINISH: ``finish_grad`` on ``grad`` (the optimizer state unused);
    - SQNORM: nothing more;

    then returns the weights' sum of squares (``sqnorm``) as they are.
    """
    dtype = np.dtype(dtype).type
    ADAM = int(solver) != SGD

    def step(mode, p_ptr, s1_ptr, s2_ptr, g_ptr, n, n_coef, alpha, sw_sum, lr, momentum,
             nesterov, beta1, beta2, eps, own):
        params = carray(p_ptr, n, dtype)  # for own_lines and sqnorm; the loops use pointers
        P, G = typed(p_ptr, dtype), typed(g_ptr, dtype)
        a, sw = dtype(alpha), dtype(sw_sum)
        if mode == STEP:
            if own:
                own_lines(params)
            S1 = typed(s1_ptr, dtype)
            S2 = typed(s2_ptr if ADAM else s1_ptr, dtype)  # SGD's is never read
            inv = _exact_reciprocal(sw)
            lr_, mom, b1, b2, e = dtype(lr), dtype(momentum), dtype(beta1), dtype(beta2), dtype(eps)
            # The gradient finish_grad makes of the raw sums, entry by entry:
            # (sum + alpha * W) / sw_sum for the weights, sum / sw_sum for the
            # intercepts; by ``inv`` when 1 / sw_sum is exact. The test of
            # inv is made outside the loops: LLVM vectorizes them only so (a
            # multiply and a divide both computed for every entry made the
            # steps 3-8x slower).
            if inv != 0.0:
                for k in range(n):
                    g = (G[k] + a * P[k] if k < n_coef else G[k]) * inv
                    if ADAM:
                        P[k], S1[k], S2[k] = _adam(P[k], S1[k], S2[k], g, lr_, b1, b2, e)
                    else:
                        P[k], S1[k] = _momentum(P[k], S1[k], g, lr_, mom, nesterov)
            else:
                for k in range(n):
                    g = (G[k] + a * P[k] if k < n_coef else G[k]) / sw
                    if ADAM:
                        P[k], S1[k], S2[k] = _adam(P[k], S1[k], S2[k], g, lr_, b1, b2, e)
                    else:
                        P[k], S1[k] = _momentum(P[k], S1[k], g, lr_, mom, nesterov)
        elif mode == FINISH:
            for k in range(n_coef):
                G[k] += a * P[k]
                G[k] /= sw
            for k in range(n_coef, n):
                G[k] /= sw
        return sqnorm(params, n_coef)

    return component(step, STEP_SIGNATURE, step_name(solver, dtype))
