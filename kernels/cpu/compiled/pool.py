"""The mini-batch driver's own threads: a *team* of the fit's thread and
``nw`` workers (``kernels.cpu._pool`` starts them and lends them to one
epoch call at a time), which share each batch's gather of dense rows,
its matrix products, its hidden layers' forward and backward passes and
its optimizer step. The output layer's head, and everything of a batch
smaller than ``MIN_ROWS`` rows a member, stay on the fit's thread.

Why a team of our own. On two cores, everything outside BLAS's products
ran on one core while BLAS's second thread waited (30-61% of a fit;
docs/performance.md), and numba's threading layers are out (OpenMP hangs
after fork, the workqueue aborts under concurrent threads). With BLAS
held to one thread during the call, the team splits each product by
rows of its output, every member calling single-threaded BLAS on its
rows, and every elementwise pass by rows or entries; a member waiting
for the next job spins on its own cache line and then yields the core.

Every element is computed by the same code on the same operands as
without the team, but for three sums: BLAS may pick another kernel for
a block of rows than for the whole product (its small-matrix code, at
some shapes), and the intercepts' gradient and the penalty's sum of
squares are summed part by part, the parts added in a fixed order. So
a fit's results depend on the team's size as they depend on BLAS's
thread count, and on nothing else: the same for a given
``random_state`` and thread count.

The *board* (int64, ``SLOTS`` a worker, worker ``w`` from 1) holds each
worker's job line (the job's number, its kind and its arguments, floats
as their bits) and its answer line (the last job done, a step's sum of
squares); the fit's thread writes the arguments, then the number with a
release store, and waits for the answer's number with acquire loads. A
negative number asks the worker to leave its loop (``serve``).
"""

import platform

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

from .. import activations as layer
from .._pool import ANSWER, SLOTS
from ..optimizers import STEP
from ._jit import component, jit, jit_inline
from .activations import call_layer
from .optimizers import call_step
from .pointers import at, copy, gemm, gemm_rows, typed

#: Job kinds (slot 1 of a job line).
GEMM, LAYER, STEP_PART, ROWS = 1, 2, 3, 4
#: A product is split when each member gets at least this many rows of
#: it, a layer pass likewise; a step when each gets this many entries
#: (the parts start on 16-entry boundaries: a cache line of float32, two
#: of float64, so no two members write one line).
MIN_ROWS = 16
MIN_ENTRIES = 2048
_ALIGN = 16
#: Pauses a waiting member spins through before it yields its core at
#: each look (a batch's jobs come microseconds apart; a member kept from
#: its core by another process must not keep the others spinning).
_SPINS = 2000
#: The CPU's spin-wait hint, where LLVM has one for it.
_PAUSE = "llvm.x86.sse2.pause" if platform.machine().lower() in ("x86_64", "amd64") else None


@intrinsic
def load_acquire(typingctx, p, index):
    """``p[index]`` (an int64 pointer) loaded with acquire ordering."""
    if p != types.CPointer(types.int64):
        return None

    def codegen(context, builder, signature, args):
        return builder.load_atomic(builder.gep(args[0], [args[1]]), "acquire", 8)

    return types.int64(p, types.intp), codegen


@intrinsic
def store_release(typingctx, p, index, value):
    """``p[index] = value`` (an int64 pointer) with release ordering."""
    if p != types.CPointer(types.int64):
        return None

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(value, builder.gep(args[0], [args[1]]), "release", 8)
        return context.get_dummy_value()

    return types.void(p, types.intp, value), codegen


@intrinsic
def _relax(typingctx, spins):
    """One turn of a wait: the CPU's spin-wait hint for the first
    ``_SPINS`` turns, then ``sched_yield``."""
    def codegen(context, builder, signature, args):
        void = ir.FunctionType(ir.VoidType(), [])
        with builder.if_else(builder.icmp_signed("<", args[0],
                                                 ir.Constant(args[0].type, _SPINS))) as (
                spin, give):
            with spin:
                if _PAUSE is not None:
                    builder.call(cgutils.get_or_insert_function(builder.module, void, _PAUSE),
                                 [])
            with give:
                fnty = ir.FunctionType(ir.IntType(32), [])
                builder.call(cgutils.get_or_insert_function(builder.module, fnty, "sched_yield"),
                             [])
        return context.get_dummy_value()

    return types.void(spins), codegen


@intrinsic
def _moved(typingctx, p, nbytes):
    """The void pointer ``p`` moved on by ``nbytes`` bytes."""
    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        moved = builder.gep(builder.bitcast(args[0], i8p), [args[1]])
        return builder.bitcast(moved, cgutils.voidptr_t)

    return types.voidptr(types.voidptr, types.intp), codegen


def _cast(op, source, target):
    """An intrinsic of one LLVM cast ``op`` (an IR builder's method) from
    a ``source`` to a ``target`` numba type."""
    @intrinsic
    def cast(typingctx, x):
        def codegen(context, builder, signature, args):
            return getattr(builder, op)(args[0], context.get_value_type(target))

        return target(source), codegen

    return cast


_address = _cast("ptrtoint", types.voidptr, types.int64)  # a void pointer as an int64
_pointer = _cast("inttoptr", types.int64, types.voidptr)  # and back
_bits = _cast("bitcast", types.float64, types.int64)  # a float64's bits as an int64
_float = _cast("bitcast", types.int64, types.float64)  # and back


@intrinsic
def _plain(typingctx, x):
    """``x`` typed as a plain value: a constant argument (a literal type,
    ``False`` or ``0``) would make each ``_shared_`` function compile
    once more for each constant met."""
    result = types.unliteral(x)

    def codegen(context, builder, signature, args):
        return context.cast(builder, args[0], signature.args[0], result)

    return result(x), codegen


if config.DISABLE_JIT:  # NUMBA_DISABLE_JIT=1: the kernels run as Python, with no team (nw 0)
    def _plain(x):  # noqa: F811
        return x


@jit_inline
def _wait(B, slot, value):
    spins = 0
    while load_acquire(B, slot) != value:
        _relax(spins)
        spins += 1


@jit_inline
def _wait_workers(B, parts):
    """Wait until workers 1 to ``parts - 1`` have done their last job."""
    for w in range(1, parts):
        _wait(B, w * SLOTS + ANSWER, B[w * SLOTS])


@jit_inline
def _post(B, w):
    """Hand worker ``w`` the job whose arguments are on its line; returns
    its number."""
    seq = abs(B[w * SLOTS]) + 1
    store_release(B, w * SLOTS, seq)
    return seq


@jit_inline
def _bound(n, part, parts, align):
    """Where part ``part`` of ``parts`` of ``n`` items starts (a multiple
    of ``align``, but the end)."""
    if part >= parts:
        return n
    return n * part // parts // align * align


@jit_inline
def team_gemm(team, double, trans_a, trans_b, m, n, k, a, b, beta, c):
    """``gemm`` (see ``pointers.py``), its output's rows shared by the team
    (None: no team) when each member gets ``MIN_ROWS`` of them. (Each
    ``team_`` helper is a small branch inlined into the drivers, and its
    shared work a function of its own, compiled once: inlined whole at
    every call site, they made a cold first fit 4-5x longer, and L-BFGS's,
    with no team, 9x.)"""
    if team is None:
        gemm(double, trans_a, trans_b, m, n, k, a, b, beta, c)
    else:
        _shared_gemm(team, _plain(double), _plain(trans_a), _plain(trans_b), _plain(m),
                     _plain(n), _plain(k), a, b, _plain(beta), c)
    return 0


@jit
def _shared_gemm(team, double, trans_a, trans_b, m, n, k, a, b, beta, c):
    board, nw, _ = team
    parts = nw + 1
    if nw == 0 or m < parts * MIN_ROWS or n < 2 or k < 2:
        gemm(double, trans_a, trans_b, m, n, k, a, b, beta, c)
    else:
        B = typed(board, np.int64)
        size = 8 if double else 4
        lda = m if trans_a else k  # op(a)'s rows: columns of a stored (k, m)
        ldb = k if trans_b else n
        row_a = size if trans_a else k * size
        for w in range(1, parts):
            lo, hi = _bound(m, w, parts, 8), _bound(m, w + 1, parts, 8)
            j = w * SLOTS
            B[j + 1] = GEMM
            B[j + 2] = double
            B[j + 3] = trans_a
            B[j + 4] = trans_b
            B[j + 5] = hi - lo
            B[j + 6] = n
            B[j + 7] = k
            B[j + 8] = _address(a) + lo * row_a
            B[j + 9] = lda
            B[j + 10] = _address(b)
            B[j + 11] = ldb
            B[j + 12] = _bits(beta)
            B[j + 13] = _address(c) + lo * n * size
            _post(B, w)
        hi0 = _bound(m, 1, parts, 8)
        gemm_rows(double, trans_a, trans_b, hi0, n, k, a, lda, b, ldb, beta, c, n)
        _wait_workers(B, parts)
    return 0


@jit_inline
def team_layer(team, size, fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta):
    """``call_layer``, its rows shared by the team (None: no team). In the
    modes that sum the rows into ``b`` (the intercepts' gradient), each
    worker sums its rows into its own ``m`` entries of the team's scratch,
    which are then added to the fit's thread's sums in the workers'
    order."""
    if team is None:
        call_layer(fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta)
    else:
        _shared_layer(team, _plain(size), _plain(fn), _plain(mode), z, dz, b, _plain(n),
                      _plain(m), _plain(param), _plain(rate), _plain(seed), _plain(row0),
                      _plain(col0), _plain(beta))
    return 0


@jit
def _shared_layer(team, size, fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta):
    board, nw, part = team
    parts = nw + 1
    if nw == 0 or n < parts * MIN_ROWS:
        call_layer(fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta)
    else:
        B = typed(board, np.int64)
        sums = mode != layer.TRAIN and mode != layer.PREDICT
        row = m * size
        for w in range(1, parts):
            lo, hi = _bound(n, w, parts, 1), _bound(n, w + 1, parts, 1)
            j = w * SLOTS
            B[j + 1] = LAYER
            B[j + 2] = fn
            B[j + 3] = mode
            B[j + 4] = _address(z) + lo * row
            B[j + 5] = _address(dz) + lo * row
            B[j + 6] = _address(part) + (w - 1) * row if sums else _address(b)
            B[j + 7] = hi - lo
            B[j + 8] = m
            B[j + 9] = _bits(param)
            B[j + 10] = _bits(rate)
            B[j + 11] = seed
            B[j + 12] = row0 + lo
            B[j + 13] = col0
            B[j + 14] = _bits(0.0 if sums else beta)
            _post(B, w)
        call_layer(fn, mode, z, dz, b, _bound(n, 1, parts, 1), m, param, rate, seed, row0,
                   col0, beta)
        _wait_workers(B, parts)
        if sums:
            if size == 8:
                _add_parts(typed(b, np.float64), typed(part, np.float64), m, nw)
            else:
                _add_parts(typed(b, np.float32), typed(part, np.float32), m, nw)
    return 0


@jit_inline
def _add_parts(b, part, m, nw):
    for w in range(nw):
        for j in range(m):
            b[j] += part[w * m + j]


@jit
def team_rows(team, xb, Xd, rows, nb, row_bytes):
    """Copy rows ``rows[0..nb)`` of the dense X at ``Xd`` (``row_bytes`` a
    row) one after the other into ``xb`` (void pointers; ``rows`` an int64
    array), shared by the team (not None)."""
    board, nw, _ = team
    parts = nw + 1
    B = typed(board, np.int64)
    hi0 = nb
    if nb >= parts * MIN_ROWS:
        for w in range(1, parts):
            lo, hi = _bound(nb, w, parts, 1), _bound(nb, w + 1, parts, 1)
            j = w * SLOTS
            B[j + 1] = ROWS
            B[j + 2] = _address(xb) + lo * row_bytes
            B[j + 3] = _address(Xd)
            B[j + 4] = _address(at(rows, lo))
            B[j + 5] = hi - lo
            B[j + 6] = row_bytes
            _post(B, w)
        hi0 = _bound(nb, 1, parts, 1)
    _copy_rows(xb, Xd, typed(at(rows, 0), np.int64), hi0, row_bytes)
    if hi0 < nb:
        _wait_workers(B, parts)
    return 0


@jit_inline
def _copy_rows(dst, src, rows, count, row_bytes):
    for r in range(count):
        copy(_moved(dst, r * row_bytes), _moved(src, rows[r] * row_bytes), row_bytes)


@jit_inline
def team_step(team, size, fn, mode, p, m1, m2, g, n, n_coef, alpha, sw_sum, lr, momentum,
              nesterov, beta1, beta2, eps, claim):
    """``call_step``, a step's entries shared by the team (None: no team);
    returns the sum of squares of the weights, part by part."""
    if team is None:
        return call_step(fn, mode, p, m1, m2, g, n, n_coef, alpha, sw_sum, lr, momentum,
                         nesterov, beta1, beta2, eps, claim)
    return _shared_step(team, _plain(size), _plain(fn), _plain(mode), p, m1, m2, g, _plain(n),
                        _plain(n_coef), _plain(alpha), _plain(sw_sum), _plain(lr),
                        _plain(momentum), _plain(nesterov), _plain(beta1), _plain(beta2),
                        _plain(eps), _plain(claim))


@jit
def _shared_step(team, size, fn, mode, p, m1, m2, g, n, n_coef, alpha, sw_sum, lr, momentum,
                 nesterov, beta1, beta2, eps, claim):
    board, nw, _ = team
    parts = nw + 1
    if nw == 0 or n < parts * MIN_ENTRIES or mode != STEP:
        return call_step(fn, mode, p, m1, m2, g, n, n_coef, alpha, sw_sum, lr, momentum,
                         nesterov, beta1, beta2, eps, claim)
    B = typed(board, np.int64)
    for w in range(1, parts):
        lo, hi = _bound(n, w, parts, _ALIGN), _bound(n, w + 1, parts, _ALIGN)
        j = w * SLOTS
        B[j + 1] = STEP_PART
        B[j + 2] = fn
        B[j + 3] = mode
        B[j + 4] = _address(p) + lo * size
        B[j + 5] = _address(m1) + lo * size
        B[j + 6] = _address(m2) + lo * size
        B[j + 7] = _address(g) + lo * size
        B[j + 8] = hi - lo
        B[j + 9] = min(max(n_coef - lo, 0), hi - lo)
        B[j + 10] = _bits(alpha)
        B[j + 11] = _bits(sw_sum)
        B[j + 12] = _bits(lr)
        B[j + 13] = _bits(momentum)
        B[j + 14] = nesterov
        B[j + 15] = _bits(beta1)
        B[j + 16] = _bits(beta2)
        B[j + 17] = _bits(eps)
        B[j + 18] = claim
        _post(B, w)
    hi0 = _bound(n, 1, parts, _ALIGN)
    sq = call_step(fn, mode, p, m1, m2, g, hi0, min(n_coef, hi0), alpha, sw_sum, lr, momentum,
                   nesterov, beta1, beta2, eps, claim)
    for w in range(1, parts):
        _wait(B, w * SLOTS + ANSWER, B[w * SLOTS])
        sq += _float(B[w * SLOTS + ANSWER + 1])
    return sq


@jit
def team_done(team):
    """Send the team's workers back out of ``serve``, and wait until each
    has left."""
    board, nw, _ = team
    B = typed(board, np.int64)
    for w in range(1, nw + 1):
        seq = abs(B[w * SLOTS]) + 1
        store_release(B, w * SLOTS, -seq)
        _wait(B, w * SLOTS + ANSWER, seq)
    return 0


def serve_component():
    """The workers' loop, ``serve(board, w)``: worker ``w`` (from 1) does
    the jobs posted on its line of the board (at the int64 address
    ``board``) until it is asked to leave (a negative job number), and
    answers each (the job's number on its answer line, after the job's
    result). Run by each worker thread for the length of an epoch call."""

    def serve(board, w):
        B = typed(_pointer(board), np.int64)
        j = w * SLOTS
        done = B[j + ANSWER]
        spins = 0
        while True:
            seq = load_acquire(B, j)
            if abs(seq) == done:  # nothing new (a request to leave, already answered)
                _relax(spins)
                spins += 1
                continue
            spins = 0
            if seq < 0:
                store_release(B, j + ANSWER, -seq)
                return
            kind = B[j + 1]
            if kind == GEMM:
                gemm_rows(B[j + 2] != 0, B[j + 3] != 0, B[j + 4] != 0, B[j + 5], B[j + 6],
                          B[j + 7], _pointer(B[j + 8]), B[j + 9], _pointer(B[j + 10]),
                          B[j + 11], _float(B[j + 12]), _pointer(B[j + 13]), B[j + 6])
            elif kind == LAYER:
                call_layer(B[j + 2], B[j + 3], _pointer(B[j + 4]), _pointer(B[j + 5]),
                           _pointer(B[j + 6]), B[j + 7], B[j + 8], _float(B[j + 9]),
                           _float(B[j + 10]), B[j + 11], B[j + 12], B[j + 13], _float(B[j + 14]))
            elif kind == ROWS:
                _copy_rows(_pointer(B[j + 2]), _pointer(B[j + 3]),
                           typed(_pointer(B[j + 4]), np.int64), B[j + 5], B[j + 6])
            elif kind == STEP_PART:
                sq = call_step(B[j + 2], B[j + 3], _pointer(B[j + 4]), _pointer(B[j + 5]),
                               _pointer(B[j + 6]), _pointer(B[j + 7]), B[j + 8], B[j + 9],
                               _float(B[j + 10]), _float(B[j + 11]), _float(B[j + 12]),
                               _float(B[j + 13]), B[j + 14] != 0, _float(B[j + 15]),
                               _float(B[j + 16]), _float(B[j + 17]), B[j + 18] != 0)
                B[j + ANSWER + 1] = _bits(sq)
            done = seq
            store_release(B, j + ANSWER, seq)

    return component(serve, SERVE_SIGNATURE, "pool_serve")


SERVE_SIGNATURE = types.void(types.int64, types.int64)
