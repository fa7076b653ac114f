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

The *board* (int64, ``SLOTS`` a line) holds on line 0 the job a
driver's ``team_`` helper wrote (``_job``: its kind, and its arguments
as int64s, floats as their bits, pointers as addresses; slot 0 the
number of members sharing it), and on worker ``w``'s line (from 1) the
number of its latest job and, from ``ANSWER``, its answer (the number of
the last job done, after its part's result). The helper then calls the
team's one compiled function, ``serve`` (``serve_component``), as the
job's lead: it posts each worker a new number with a release store, does
its own part, and waits for the answers with acquire loads (or does a
part itself where its worker has not started it). A negative number
ends a worker's epoch call: it lingers for the next, then sleeps. The
drivers thus type one write and one call a job, and the sharing is
compiled once, as a unit of its own.

A team, as the drivers hold it, is ``(board, nw, serve, part)``: the
board (a void pointer), the number of workers serving this call, the
address of ``serve``, and the scratch of the workers' intercept sums.
"""

import functools
import platform

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic, overload

from .. import activations as layer
from .._pool import ANSWER, SLOTS
from ..optimizers import STEP
from ._jit import caller, component, jit, jit_inline
from .activations import call_layer
from .optimizers import call_step
from .pointers import at, copy, gemm, gemm_rows, typed

#: Job kinds (slot 1 of the board's line 0).
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
#: Turns (each a ``sched_yield``) a worker lingers after an epoch call
#: for the next one before its thread goes to sleep: about 3 ms on an idle
#: core, at least two epochs' Python between calls.
_LINGER = 5000
#: A worker's state (slot ``STATE`` of its line): asleep (out of
#: ``serve``; the board starts so), lingering after a call, claimed for
#: the next call. Slot ``TAKEN``: the last job whose part is claimed, by
#: the worker or by the lead (``_take``).
STATE, TAKEN = 1, 2
ASLEEP, LINGERING, CLAIMED = 0, 1, 2
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
def _swap_if(typingctx, p, index, old, new):
    """Atomically set ``p[index]`` (an int64 pointer) to ``new`` where it
    holds ``old``; whether it did."""
    if p != types.CPointer(types.int64):
        return None

    def codegen(context, builder, signature, args):
        old, new = (context.cast(builder, v, t, types.int64)
                    for v, t in zip(args[2:], signature.args[2:]))
        swap = builder.cmpxchg(builder.gep(args[0], [args[1]]), old, new, "acq_rel", "acquire")
        return builder.extract_value(swap, 1)

    return types.boolean(p, types.intp, old, new), codegen


@intrinsic
def _take(typingctx, p, index, number):
    """Claim job ``number``'s part: ``p[index]`` (an int64 pointer, the
    highest job number claimed) raised to ``number`` atomically; whether
    it was below (the part is the caller's to do)."""
    if p != types.CPointer(types.int64):
        return None

    def codegen(context, builder, signature, args):
        number = context.cast(builder, args[2], signature.args[2], types.int64)
        old = builder.atomic_rmw("max", builder.gep(args[0], [args[1]]), number, "acq_rel")
        return builder.icmp_signed("<", old, number)

    return types.boolean(p, types.intp, number), codegen


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


@jit_inline
def _wait(B, slot, value):
    spins = 0
    while load_acquire(B, slot) != value:
        _relax(spins)
        spins += 1


@intrinsic
def _job(typingctx, board, kind, *args):
    """Write a job on the board's line 0: ``kind`` into slot 1 and the
    arguments from slot 2 on, each as an int64 (an integer or a bool as
    itself, a float as its float64 bits, a pointer as its address). One
    call, whatever the number of arguments, for a driver to type."""
    if board != types.voidptr:
        return None
    star = types.StarArgTuple(args)

    def codegen(context, builder, signature, llargs):
        i64 = ir.IntType(64)
        base = builder.bitcast(llargs[0], i64.as_pointer())
        values = [(llargs[1], kind)] + list(zip(cgutils.unpack_tuple(builder, llargs[2]), args))
        for slot, (v, t) in enumerate(values, start=1):
            if isinstance(t, types.Float):
                v = builder.bitcast(context.cast(builder, v, t, types.float64), i64)
            elif isinstance(t, (types.RawPointer, types.CPointer)):
                v = builder.ptrtoint(v, i64)
            else:
                v = context.cast(builder, v, t, types.int64)
            builder.store(v, builder.gep(base, [ir.Constant(i64, slot)]))
        return context.get_dummy_value()

    return types.void(board, kind, star), codegen


def _by_team(alone, shared):
    """A helper of the drivers that runs ``alone(team, *args)`` where the
    team is None, and ``shared(team, *args)`` where it is a team: chosen
    by the team's type when a driver is typed, and compiled as a function
    of its own, so a driver holds the code of one of them, once. (Inlined
    into each call site, both ways were processed at every one before the
    branch the type rules out was dropped: 0.3 s of an L-BFGS driver's
    cold compile, which has no team.) As Python (``NUMBA_DISABLE_JIT=1``)
    a team has no workers, and the helper runs ``alone``."""
    @functools.wraps(alone)
    def helper(team, *args):
        return alone(team, *args) if team is None or team[1] == 0 else shared(team, *args)

    if not config.DISABLE_JIT:
        @overload(helper)
        @functools.wraps(alone)  # numba checks the typing function's signature
        def typing(team, *args):
            return alone if isinstance(team, types.NoneType) else shared

    return helper


@jit_inline
def _lead(team):
    """The team's component (``serve``) leading the job just written on
    the board; its result (a step's sum of squares, else 0)."""
    return _call_serve(team[2], _address(team[0]), 0, team[1])


def _gemm_alone(team, double, trans_a, trans_b, m, n, k, a, b, beta, c):
    gemm(double, trans_a, trans_b, m, n, k, a, b, beta, c)
    return 0


def _gemm_shared(team, double, trans_a, trans_b, m, n, k, a, b, beta, c):
    _job(team[0], GEMM, double, trans_a, trans_b, m, n, k, a, b, beta, c)
    _lead(team)
    return 0


#: ``gemm`` (see ``pointers.py``), its output's rows shared by the team
#: (None: no team) when each member gets ``MIN_ROWS`` of them.
team_gemm = _by_team(_gemm_alone, _gemm_shared)


def _layer_alone(team, size, fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta):
    call_layer(fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta)
    return 0


def _layer_shared(team, size, fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta):
    _job(team[0], LAYER, size, team[3], fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0,
         beta)
    _lead(team)
    return 0


#: ``call_layer``, its rows shared by the team (None: no team). In the
#: modes that sum the rows into ``b`` (the intercepts' gradient), each
#: worker sums its rows into its ``m`` entries of the team's scratch
#: (``team[3]``), added to the fit's thread's sums after.
team_layer = _by_team(_layer_alone, _layer_shared)


def _step_alone(team, size, fn, mode, p, m1, m2, g, n, n_coef, alpha, sw_sum, lr, momentum,
                nesterov, beta1, beta2, eps, claim):
    return call_step(fn, mode, p, m1, m2, g, n, n_coef, alpha, sw_sum, lr, momentum, nesterov,
                     beta1, beta2, eps, claim)


def _step_shared(team, size, fn, mode, p, m1, m2, g, n, n_coef, alpha, sw_sum, lr, momentum,
                 nesterov, beta1, beta2, eps, claim):
    _job(team[0], STEP_PART, size, fn, mode, p, m1, m2, g, n, n_coef, alpha, sw_sum, lr,
         momentum, nesterov, beta1, beta2, eps, claim)
    return _lead(team)


#: ``call_step``, a step's entries shared by the team (None: no team);
#: returns the sum of squares of the weights, part by part.
team_step = _by_team(_step_alone, _step_shared)


@jit_inline
def team_rows(team, xb, Xd, rows, nb, row_bytes):
    """Copy rows ``rows[0..nb)`` of the dense X at ``Xd`` (``row_bytes`` a
    row) one after the other into ``xb`` (void pointers; ``rows`` an int64
    array), shared by the team (not None)."""
    _job(team[0], ROWS, xb, Xd, at(rows, 0), nb, row_bytes)
    _lead(team)


@jit
def team_done(team):
    """Send the team's workers back out of ``serve``, and wait until each
    has left."""
    B, nw = typed(team[0], np.int64), team[1]
    for w in range(1, nw + 1):
        seq = abs(B[w * SLOTS]) + 1
        store_release(B, w * SLOTS, -seq)
        _wait(B, w * SLOTS + ANSWER, seq)
    return 0


@jit_inline
def _parts(B, nw):
    """How many members share the job on the board: all ``nw + 1`` where
    each gets ``MIN_ROWS`` rows (``MIN_ENTRIES`` entries of a step), else
    the fit's thread alone."""
    parts = nw + 1
    kind = B[1]
    if kind == GEMM:
        enough = B[5] >= parts * MIN_ROWS and B[6] >= 2 and B[7] >= 2
    elif kind == LAYER:
        enough = B[9] >= parts * MIN_ROWS
    elif kind == STEP_PART:
        enough = B[4] == STEP and B[9] >= parts * MIN_ENTRIES
    else:
        enough = B[5] >= parts * MIN_ROWS
    return parts if enough else 1


@jit
def _do(B, w, parts):
    """Member ``w``'s part of ``parts`` of the job on the board's line 0
    (the whole job for ``parts`` 1); returns a step's sum of squares over
    the part, else 0. Each kind reads its arguments in the order its
    ``team_`` helper wrote them (``_job``)."""
    kind = B[1]
    # the part's items: a product's rows (from multiples of 8), a layer's
    # rows, a step's entries (from multiples of _ALIGN), rows to gather
    count = B[5] if kind == GEMM or kind == ROWS else B[9]
    align = 8 if kind == GEMM else _ALIGN if kind == STEP_PART else 1
    lo = count * w // parts // align * align
    hi = count if w + 1 == parts else count * (w + 1) // parts // align * align
    if kind == GEMM:
        double, trans_a, trans_b, m, n, k = B[2] != 0, B[3] != 0, B[4] != 0, B[5], B[6], B[7]
        a, b, beta, c = B[8], _pointer(B[9]), _float(B[10]), B[11]
        if parts == 1:
            gemm(double, trans_a, trans_b, m, n, k, _pointer(a), b, beta, _pointer(c))
            return 0.0
        size = 8 if double else 4
        lda = m if trans_a else k  # op(a)'s rows: columns of a stored (k, m)
        ldb = k if trans_b else n
        row_a = size if trans_a else k * size
        gemm_rows(double, trans_a, trans_b, hi - lo, n, k, _pointer(a + lo * row_a), lda, b, ldb,
                  beta, _pointer(c + lo * n * size), n)
    elif kind == LAYER:
        size, part, fn, mode, z, dz, b = B[2], B[3], B[4], B[5], B[6], B[7], _pointer(B[8])
        n, m, param, rate, seed, row0 = B[9], B[10], _float(B[11]), _float(B[12]), B[13], B[14]
        col0, beta = B[15], _float(B[16])
        row = m * size
        if w > 0 and mode != layer.TRAIN and mode != layer.PREDICT:  # a worker's sums
            b, beta = _pointer(part + (w - 1) * row), 0.0
        call_layer(fn, mode, _pointer(z + lo * row), _pointer(dz + lo * row), b, hi - lo, m,
                   param, rate, seed, row0 + lo, col0, beta)
    elif kind == STEP_PART:
        size, fn, mode, p, m1, m2, g, n = B[2], B[3], B[4], B[5], B[6], B[7], B[8], B[9]
        return call_step(fn, mode, _pointer(p + lo * size), _pointer(m1 + lo * size),
                         _pointer(m2 + lo * size), _pointer(g + lo * size), hi - lo,
                         min(max(B[10] - lo, 0), hi - lo), _float(B[11]), _float(B[12]),
                         _float(B[13]), _float(B[14]), B[15] != 0, _float(B[16]),
                         _float(B[17]), _float(B[18]), B[19] != 0)
    else:  # ROWS
        dst, src, rows, nb, row_bytes = B[2], B[3], typed(_pointer(B[4]), np.int64), B[5], B[6]
        for r in range(lo, hi):
            copy(_pointer(dst + r * row_bytes), _pointer(src + rows[r] * row_bytes), row_bytes)
    return 0.0


@jit_inline
def _lead_job(B, lead, nw):
    """The fit's thread's turn at the job on the board: it hands the
    workers their parts, does its own, then, in the workers' order, takes
    the result of each worker's part, or does the part itself where the
    worker has not yet claimed it (its thread kept from its core: a part's
    result does not depend on who computes it), and adds their step's
    sums of squares, or their intercept sums into the layer's."""
    parts = _parts(B, nw)
    B[0] = parts
    for w in range(1, parts):
        store_release(B, w * SLOTS, abs(B[w * SLOTS]) + 1)
    result = _do(B, lead, parts)
    for w in range(1, parts):
        seq = B[w * SLOTS]
        if _take(B, w * SLOTS + TAKEN, seq):
            result += _do(B, w, parts)
        else:
            _wait(B, w * SLOTS + ANSWER, seq)
            result += _float(B[w * SLOTS + ANSWER + 1])
    if parts > 1 and B[1] == LAYER and B[5] != layer.TRAIN and B[5] != layer.PREDICT:
        # the workers' sums, a row each, added to the intercepts' as the
        # layer adds rows (its BIAS mode)
        call_layer(B[4], layer.BIAS, _pointer(B[3]), _pointer(B[3]), _pointer(B[8]), parts - 1,
                   B[10], 0.0, 0.0, 0, 0, 0, 1.0)
    return result


def serve_component():
    """The team's function, ``serve(board, w, nw)`` (the int64 address of
    the board):

    - ``w`` 0: the fit's thread leading the job the driver wrote on the
      board's line 0 with ``nw`` workers (``_lead_job``);
    - ``w`` from 1: worker ``w``'s loop, run by its thread from an epoch
      call's start: it does its part of each job posted to it (a new
      number on its line), answers (its part's result, then the number
      on its answer line), and, when the call is over (a negative
      number), answers and *lingers*: it waits on for the next call's
      jobs (the epochs of a fit come a few microseconds of Python apart)
      for ``_LINGER`` turns, then leaves (its thread then sleeps until
      the host wakes it). Waking a sleeping thread cost a W1 epoch
      (0.8 ms) 60-200 us, and the first epochs of a fit after a pause up
      to 7 ms each;
    - ``w`` -1: the host claims workers 1 to ``nw`` for an epoch call
      (``_pool.run``): a lingering worker is kept, a sleeping one marked
      to be woken; returns the sleeping ones (bit ``w - 1``), whose
      threads the host wakes.
    """

    def serve(board, w, nw):
        B = typed(_pointer(board), np.int64)
        if w == 0:  # w, not a constant 0: _do is compiled once, for int64 arguments
            return _lead_job(B, w, nw)
        if w < 0:
            asleep = 0
            for v in range(1, nw + 1):
                if not _swap_if(B, v * SLOTS + STATE, LINGERING, CLAIMED):
                    store_release(B, v * SLOTS + STATE, CLAIMED)  # it has left: wake it
                    asleep |= 1 << (v - 1)
            return float(asleep)
        j = w * SLOTS
        done = B[j + ANSWER]
        lingering = False  # woken for a call: there until its end
        spins = 0
        while True:
            seq = load_acquire(B, j)
            if abs(seq) == done:  # nothing new (a request to leave, already answered)
                if lingering and spins >= _SPINS + _LINGER:
                    if _swap_if(B, j + STATE, LINGERING, ASLEEP):
                        return 0.0
                    lingering = False  # claimed for the next call meanwhile
                _relax(spins)
                spins += 1
                continue
            spins = 0
            if seq < 0:  # the call is over
                store_release(B, j + STATE, LINGERING)  # before the answer the call waits for
                done = -seq
                store_release(B, j + ANSWER, done)
                lingering = True
                continue
            lingering = False
            if _take(B, j + TAKEN, seq):  # else the lead did it, this thread being late
                B[j + ANSWER + 1] = _bits(_do(B, w, B[0]))
            done = seq
            store_release(B, j + ANSWER, seq)

    return component(serve, SERVE_SIGNATURE, "pool_serve")


SERVE_SIGNATURE = types.float64(types.int64, types.int64, types.int64)
#: ``_call_serve(address, board, w, nw)``: call the team's function.
_call_serve = caller(SERVE_SIGNATURE)
