"""The optimizer step component the drivers call (the host functions that
run it are ``kernels.cpu.optimizers``).

``params``, ``grad`` and the optimizer state (``moment1``: SGD's
velocities or Adam's first moments; ``moment2``: Adam's second moments)
share one layout (``kernels.layout``), so one loop updates the whole
network. The updates are ``kernels.optimizers``'.

The steps work on the raw sums of a backward pass and finish each entry
as they read it (``penalized``, then the division by the weights' sum):
one pass over the buffers per batch instead of two (see
``step_component``).
"""

import math
from functools import lru_cache

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

from ... import codes
from ... import optimizers as formulas
from ..optimizers import FINISH, STEP, step_name
from ._jit import caller, component, inline, jit, jit_inline, jit_sum, wide_vectors
from .pointers import at, carray, typed

adam_lr, penalized, momentum_update, adam_update = (
    inline(f) for f in (formulas.adam_lr, formulas.penalized, formulas.momentum_update,
                        formulas.adam_update))


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
def claim_lines(a):
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
    from ._python import claim_lines  # noqa: F811


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


@jit_sum
def sqnorm(params, n_coef):
    """Sum of squares of the first ``n_coef`` entries (the weights), in
    float64: the L2 penalty's value. Made after every per-sample step: at
    512 bits with fused multiply-adds it took a W2 fit 5% less time than
    at 256 bits with a multiply and an add."""
    wide_vectors()
    s = 0.0
    for k in range(n_coef):
        s += np.float64(params[k]) * np.float64(params[k])
    return s


STEP_SIGNATURE = types.float64(types.int64, types.voidptr, types.voidptr, types.voidptr,
                               types.voidptr, types.intp, types.intp, types.float64,
                               types.float64, types.float64, types.float64, types.boolean,
                               types.float64, types.float64, types.float64, types.boolean)
#: ``call_step(address, *args)``: call the step component at ``address``.
call_step = caller(STEP_SIGNATURE)


@lru_cache(maxsize=None)
def step_component(solver, dtype):
    """The compiled optimizer of ``solver`` (codes.SGD or codes.ADAM) and
    float ``dtype``: ``(mode, params, moment1, moment2, grad, n, n_coef,
    alpha, sw_sum, lr, momentum, nesterov, beta1, beta2, eps, claim)`` on
    the n-entry buffers at the pointers, the first ``n_coef`` entries
    weights:

    - STEP: one step on the gradient ``finish_grad`` would make of the raw
      sums ``grad`` (each entry finished as it is read; ``grad`` left as it
      was), first taking ``params``' cache lines (``claim_lines``) when
      ``claim``: after BLAS products. Adam (``adam_update``): moment1,
      moment2 the first and second moments, ``lr`` the bias-corrected
      step size (see adam_lr). SGD (``momentum_update``; moment2 unused):
      moment1 the velocities. A finished gradient is the case ``n_coef``
      0, ``sw_sum`` 1, to the bit;
    - FINISH: ``finish_grad`` on ``grad`` (the optimizer state unused);
    - SQNORM: nothing more;

    then returns the weights' sum of squares (``sqnorm``) as they are.
    """
    dtype = np.dtype(dtype).type
    ADAM = int(solver) != codes.SGD

    def step(mode, p_ptr, m1_ptr, m2_ptr, g_ptr, n, n_coef, alpha, sw_sum, lr, momentum,
             nesterov, beta1, beta2, eps, claim):
        wide_vectors()
        params = carray(p_ptr, n, dtype)  # for claim_lines and sqnorm; the loops use pointers
        P, G = typed(p_ptr, dtype), typed(g_ptr, dtype)
        a, sw = dtype(alpha), dtype(sw_sum)
        if mode == STEP:
            if claim:
                claim_lines(params)
            M1 = typed(m1_ptr, dtype)
            M2 = typed(m2_ptr if ADAM else m1_ptr, dtype)  # SGD's is never read
            inv = _exact_reciprocal(sw)
            lr_, mom, b1, b2, e = dtype(lr), dtype(momentum), dtype(beta1), dtype(beta2), dtype(eps)
            # The gradient finish_grad makes of the raw sums, entry by entry,
            # divided by sw_sum, or multiplied by ``inv`` when 1 / sw_sum is
            # exact. The test of inv is made outside the loops: LLVM
            # vectorizes them only so (a multiply and a divide both computed
            # for every entry made the steps 3-8x slower).
            if inv != 0.0:
                for k in range(n):
                    g = penalized(G[k], P[k], k, n_coef, a) * inv
                    if ADAM:
                        P[k], M1[k], M2[k] = adam_update(P[k], M1[k], M2[k], g, lr_, b1, b2, e)
                    else:
                        P[k], M1[k] = momentum_update(P[k], M1[k], g, lr_, mom, nesterov)
            else:
                for k in range(n):
                    g = penalized(G[k], P[k], k, n_coef, a) / sw
                    if ADAM:
                        P[k], M1[k], M2[k] = adam_update(P[k], M1[k], M2[k], g, lr_, b1, b2, e)
                    else:
                        P[k], M1[k] = momentum_update(P[k], M1[k], g, lr_, mom, nesterov)
        elif mode == FINISH:
            for k in range(n):
                G[k] = penalized(G[k], P[k], k, n_coef, a) / sw
        return sqnorm(params, n_coef)

    return component(step, STEP_SIGNATURE, step_name(solver, dtype))


@jit
def step_kernel(fn, mode, params, moment1, moment2, grad, n, n_coef, alpha, sw_sum, lr, momentum,
                nesterov, beta1, beta2, eps, claim):
    """The step component ``fn`` in ``mode`` on whole arrays (bytes);
    returns the weights' sum of squares."""
    return call_step(fn, mode, at(params, 0), at(moment1, 0), at(moment2, 0), at(grad, 0), n,
                     n_coef, alpha, sw_sum, lr, momentum, nesterov, beta1, beta2, eps, claim)


