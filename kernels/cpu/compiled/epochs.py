"""One training epoch per call: the hot path of ``fit`` for sgd and adam;
the drivers (their host functions are ``kernels.cpu.epochs``).

Both drivers take the same arguments and visit the rows in the given
``order`` in batches of ``batch_size``, taking for each batch exactly the
step scikit-learn takes: forward, loss (with the L2 penalty at the current
weights), gradient ``(a.T @ delta + alpha * W) / sum(sw)``, then the
optimizer step. They return ``(sum over batches of batch_loss *
batch_rows, adam_t)``.

``minibatch_epoch_kernel`` gathers each batch into a scratch buffer and uses
BLAS; it sees the float buffers as bytes (see ``network.py``), so one
compile serves both float dtypes. ``sample_epoch_kernel`` is the fused
per-sample loop for ``batch_size == 1`` (no BLAS: plain loops over one
row, which keep a small network in L1), compiled per dtype, and for a
small network per shape too (``SHAPE``). Neither
allocates: the caller hands over the scratch.

Arguments: the components ``hidden`` (a layer), ``head`` (the output
layer and loss) and ``step`` (the optimizer; see their modules); for
the mini-batch driver, ``csr`` (the first layer over sparse rows read in
place, see ``dense.input_product``; None otherwise) and ``size``, the
bytes of an entry; params (n_params,) updated in place; moment1, moment2
the optimizer state (SGD: velocities, unused; Adam: first and second
moments), updated in place; X as ``Xd`` or canonical CSR ``data,
indices, indptr`` (``is_sparse``; for the mini-batch driver, ``csr``
reads its rows in place unless None); Y (n,
n_outputs); SW (n,); order (n,) int64 row order; units (int64) the layer
widths; offsets (``kernels.layout.offsets`` for batches of batch_size
rows); the hidden activation's parameter and the loss's parameter (see
``kernels.codes``); alpha; drop (float64, the dropout rate of each hidden
layer) and seed (int64, this epoch's dropout seed; row ``order[r]`` gets
the masks of position ``r``); adam (True for Adam: its step count ``t``
counts up and ``lr``, its learning_rate_init, is bias-corrected each
step; else SGD's learning rate); momentum, nesterov; beta1, beta2, eps;
t (Adam's step count before the epoch). The float scalars are float64,
holding values of the arrays' dtype. Scratch, in the params' dtype (as
bytes for the mini-batch driver): ``acts``, ``derivs``, ``deltas`` (a batch's
share of every layer past the input: ``batch_size * width`` entries,
``width`` the sum of ``units[1:]``), ``grad`` (n_params), ``xb``
(``batch_size * units[0]``; none for sparse X read in place, see
``dense.input_product``), for the mini-batch driver ``yb`` (``batch_size
* n_outputs``) and ``swb`` (batch_size); ``sw_batch`` / ``sw_row``
(float64, 1). Last, for the mini-batch driver's team of threads
(``pool.py``), which the per-sample driver does not read: ``part``,
scratch of ``MAX_THREADS - 1`` times the widest hidden layer's entries
(the workers' intercept sums), the team's ``board``, ``nw``, the
number of its workers serving it (0: the driver's thread alone), and the
address of its function (``pool.serve_component``).
"""

import numpy as np
from numba import types
from numba.extending import overload

from .. import activations as layer
from .. import losses as head_mode
from ..network import BLOCK, COEF, INTERCEPT
from ..optimizers import SQNORM, STEP
from ._jit import jit, jit_inline
from .activations import call_layer
from .dense import copy_rows
from .losses import call_head
from .network import backward_layers, forward_layers
from .optimizers import adam_lr, adam_update, call_step, momentum_update
from .pointers import at, clear, copy, offset, prefetch, typed_at
from .pool import team_done, team_rows, team_step


@jit
def minibatch_epoch_kernel(hidden, head, step, csr, size, params, moment1, moment2,
                           Xd, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
                           units, offsets, act_param, loss_param, alpha, drop, seed, adam, lr,
                           momentum, nesterov, beta1, beta2, eps, t, acts, derivs, deltas, grad,
                           xb, yb, swb, sw_batch, part, board, nw, serve):
    n = order.shape[0]
    n_layers = units.shape[0] - 1
    n_in = units[0]
    n_out = units[n_layers]
    n_coef = offsets[INTERCEPT, 0]
    n_par = params.shape[0] // size
    x = at(xb, 0)
    team = (at(board, 0), nw, serve, at(part, 0))
    out_bias = offsets[INTERCEPT, n_layers - 1] * size
    last = offsets[BLOCK, n_layers - 1]  # the output layer's block
    sq = call_step(step, SQNORM, at(params, 0), at(params, 0), at(params, 0), at(params, 0), n_par,
                   n_coef, 0.0, 0.0, 0.0, 0.0, False, 0.0, 0.0, 0.0, False)
    # Sparse rows read in place add their first-layer products (beta 1) to
    # gradient rows kept at zero: cleared here once an epoch, and after
    # each step only the rows of the batch's columns. Clearing all of them
    # every batch took 13% of an S1 fit's thread (2^18 features, at most
    # 8,000 rows touched a batch; bench/fit_profile.py); the sums are the
    # same bits.
    fo0 = units[1]
    row0 = fo0 * size  # bytes of one input's row of first-layer weights
    w0 = offsets[COEF, 0] * size  # where they start
    beta_in = 0.0 if csr is None else 1.0
    if csr is not None:
        clear(at(grad, w0), n_in * row0)
    total = 0.0
    for start in range(0, n, batch_size):
        nb = batch_size if start + batch_size < n else n - start
        rows = order[start : start + nb]
        if csr is None:  # else the first layer reads the stored entries (input_product)
            if nw == 0 or is_sparse:
                copy_rows(xb, Xd, data, indices, indptr, is_sparse, rows, n_in * size, size)
            else:
                team_rows(team, x, at(Xd, 0), rows, nb, n_in * size)
        src = (data, indices, indptr, rows)
        for r in range(nb):
            copy(at(yb, r * n_out * size), at(Y, rows[r] * n_out * size), n_out * size)
            copy(at(swb, r * size), at(SW, rows[r] * size), size)
        forward_layers(acts, derivs, x, csr, src, nb, offsets, params, units, size, hidden,
                       act_param, layer.TRAIN, drop, seed, start, team)
        batch_loss = call_head(head, head_mode.TRAIN, at(acts, last * size), at(params, out_bias),
                               at(yb, 0), at(swb, 0), at(deltas, last * size), at(grad, out_bias),
                               nb, n_out, loss_param, 1.0, 0.0, at(sw_batch, 0))
        sw_sum = sw_batch[0]
        if sw_sum == 0.0:
            continue  # an all-zero-weight batch carries no gradient
        total += (batch_loss + 0.5 * alpha * sq) / sw_sum * nb
        backward_layers(grad, deltas, acts, derivs, x, csr, src, nb, offsets, params, units,
                        size, hidden, 0.0, beta_in, team)
        step_lr = lr
        if adam:
            t += 1
            step_lr = adam_lr(lr, beta1, beta2, t)
        # The step finishes the raw sums as it reads them (optimizers.py),
        # after taking the weights' cache lines from the BLAS threads.
        sq = team_step(team, size, step, STEP, at(params, 0), at(moment1, 0), at(moment2, 0),
                       at(grad, 0), n_par, n_coef, alpha, sw_sum, step_lr, momentum, nesterov,
                       beta1, beta2, eps, True)
        if csr is not None:
            for r in range(nb):
                i = rows[r]
                for p in range(indptr[i], indptr[i + 1]):
                    clear(at(grad, w0 + indices[p] * row0), row0)
    team_done(team)
    return total, t


@jit
def _update(P, M1, M2, k, g, adam, lr, momentum, nesterov, beta1, beta2, eps):
    """Parameter ``k``'s optimizer step on its gradient ``g``, as the step
    component takes it (``optimizers.step_component``, a finished
    gradient). A function of its own, which LLVM inlines: inlined by
    numba into the loops that call it, it made the per-sample entry's
    compile 0.4-0.5 s longer."""
    if adam:
        P[k], M1[k], M2[k] = adam_update(P[k], M1[k], M2[k], g, lr, beta1, beta2, eps)
    else:
        P[k], M1[k] = momentum_update(P[k], M1[k], g, lr, momentum, nesterov)


@jit
def _steps(P, M1, M2, G, lo, hi, fa, inv_w, adam, lr, momentum, nesterov, beta1, beta2, eps):
    """Weights ``lo`` to ``hi - 1`` take their steps (``_update``'s) on
    the gradients ``(G + fa * P) * inv_w``. A loop per solver: with the
    solver tested inside one loop, LLVM vectorized both steps into it,
    Adam's square root and divide computed for SGD too, the stores
    masked."""
    if adam:
        for k in range(lo, hi):
            g = G[k] + fa * P[k]
            P[k], M1[k], M2[k] = adam_update(P[k], M1[k], M2[k], g * inv_w, lr, beta1, beta2, eps)
    else:
        for k in range(lo, hi):
            g = G[k] + fa * P[k]
            P[k], M1[k] = momentum_update(P[k], M1[k], g * inv_w, lr, momentum, nesterov)


#: The network's shape when the per-sample driver's entry is compiled for
#: one (``_jit.entry``'s ``constants``: ``(units, offsets)`` as tuples, the
#: offsets' rows as ``kernels.layout.offsets`` has them); None in the
#: driver made for every shape, which reads them from its arguments. Known
#: when compiling, every trip count and offset is a constant: W2's fits
#: 1.09-1.13x faster, the same bits (docs/performance.md). The host
#: function runs the shared driver until the shape's is made
#: (``kernels.cpu.epochs.SHAPED_LAYERS``).
SHAPE = None


def shape_of(units, offsets, shape):
    """``(units, offsets)``: the arguments, or ``shape`` when not None."""
    return (units, offsets) if shape is None else shape


def cell(table, r, c):
    """``table[r, c]`` of a 2-D array or ``table[r][c]`` of nested tuples."""
    return table[r][c] if isinstance(table, tuple) else table[r, c]


@overload(shape_of)
def _shape_of(units, offsets, shape):
    if isinstance(shape, types.NoneType):
        return lambda units, offsets, shape: (units, offsets)
    return lambda units, offsets, shape: shape


@overload(cell)
def _cell(table, r, c):
    if isinstance(table, types.Array):
        return lambda table, r, c: table[r, c]
    return lambda table, r, c: table[r][c]


#: Layers at least this wide are computed row-wise (vectorized over units).
_WIDE = 8


@jit_inline
def _row_forward(A, D, x, xo, P, units, offsets, hidden, act_param, drop, seed, row):
    """Forward one row, at ``x[xo:]`` (n_features entries), with plain loops
    through the hidden layers and the output layer's product: layer ``l``'s
    output lands in ``A`` at its block for one row (``offsets``), a
    hidden layer's derivative (times its dropout mask, for epoch position
    ``row``) in ``D``. ``A``, ``D``, ``P`` (the parameters) and ``x`` are
    typed pointers (see ``pointers.typed_at``). Returns the output layer's
    offset."""
    n_layers = len(units) - 1
    inp, off_in = x, xo
    for l in range(n_layers):
        fi = units[l]
        fo = units[l + 1]
        off_w = cell(offsets, COEF, l)
        off_a = cell(offsets, BLOCK, l)
        # Both loop orders sum over k in sequence; the row-wise one lets LLVM
        # vectorize over j, and narrow layers run one dot product per unit.
        if fo >= _WIDE:
            for j in range(fo):
                A[off_a + j] = 0.0
            for k in range(fi):
                a = inp[off_in + k]
                w = off_w + k * fo
                for j in range(fo):
                    A[off_a + j] += a * P[w + j]
        else:
            # Four units' sums at a time, each still in sequence over k:
            # one unit's chain of dependent adds at a time made a 64-3
            # output layer a third of the step. Past fo, the last unit's
            # sum is made (and stored) again.
            for j0 in range(0, fo, 4):
                j1, j2, j3 = min(j0 + 1, fo - 1), min(j0 + 2, fo - 1), min(j0 + 3, fo - 1)
                s0 = s1 = s2 = s3 = 0.0
                for k in range(fi):
                    a = inp[off_in + k]
                    w = off_w + k * fo
                    s0 += a * P[w + j0]
                    s1 += a * P[w + j1]
                    s2 += a * P[w + j2]
                    s3 += a * P[w + j3]
                A[off_a + j3] = s3
                A[off_a + j2] = s2
                A[off_a + j1] = s1
                A[off_a + j0] = s0
        if l == n_layers - 1:
            return off_a
        call_layer(hidden, layer.TRAIN, offset(A, off_a), offset(D, off_a),
                   offset(P, cell(offsets, INTERCEPT, l)), 1, fo, np.float64(act_param), drop[l],
                   seed, row, off_a, 0.0)
        inp, off_in = A, off_a
    return 0


@jit
def sample_epoch_kernel(hidden, head, step, params, moment1, moment2,
                        Xd, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
                        units, offsets, act_param, loss_param, alpha, drop, seed, adam, lr,
                        momentum, nesterov, beta1, beta2, eps, t, acts, derivs, deltas, grad, xb,
                        sw_row, part, board, nw, serve):
    """The fused per-sample epoch (``batch_size`` must be 1): plain loops on
    one row at a time; one pass per layer backpropagates through the old
    weights and forms each parameter's gradient, on which the parameter
    takes its optimizer step at once (``_update``: the step component's
    arithmetic, so the same bits as a separate pass, with no gradient
    buffer to write and read again; a narrow layer's weights take theirs
    from products left in ``grad`` by their strided pass, and the head
    writes the output intercepts' gradient there). The step component
    gives the weights' sum of squares. The arrays have their own dtype
    here, and the loops index typed pointers into them (see
    ``pointers.typed_at``)."""
    n = order.shape[0]
    dtype = params.dtype.type  # scalars made here keep the arrays' dtype
    one = dtype(1.0)
    fa = dtype(alpha)
    units, offsets = shape_of(units, offsets, SHAPE)
    n_layers = len(units) - 1
    n_in = units[0]
    n_out = units[n_layers]
    n_coef = cell(offsets, INTERCEPT, 0)
    A, D, E, G = typed_at(acts, 0), typed_at(derivs, 0), typed_at(deltas, 0), typed_at(grad, 0)
    P, M1 = typed_at(params, 0), typed_at(moment1, 0)
    M2 = typed_at(moment2, 0) if adam else M1  # SGD's is never read
    lr_, mom, nesterov = dtype(lr), dtype(momentum), bool(nesterov)
    b1, b2, e = dtype(beta1), dtype(beta2), dtype(eps)
    out_bias = cell(offsets, INTERCEPT, n_layers - 1)
    X_ = typed_at(Xd, 0)
    line = 64 // Xd.itemsize  # entries of X in a cache line
    sq = call_step(step, SQNORM, at(params, 0), at(params, 0), at(params, 0), at(params, 0),
                   params.shape[0], n_coef, 0.0, 0.0, 0.0, 0.0, False, 0.0, 0.0, 0.0, False)
    total = 0.0
    for r in range(n):
        i = order[r]
        if r + 1 < n and not is_sparse:
            # The next row asked for while this one is computed: W2's X
            # (2.4 MB) outgrows the core's 2 MB cache, and each row's first
            # read waited on memory (the fit 1.02-1.04x faster, paired).
            ahead = order[r + 1] * n_in
            for k in range(0, n_in, line):
                prefetch(X_, ahead + k)
            prefetch(X_, ahead + n_in - 1)
        w = SW[i]
        if w == 0.0:
            continue  # a zero-weight sample carries no gradient
        if is_sparse:
            for j in range(n_in):
                xb[j] = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                xb[indices[p]] += data[p]
            x, xo = typed_at(xb, 0), 0
        else:
            x, xo = X_, i * n_in
        last = _row_forward(A, D, x, xo, P, units, offsets, hidden, act_param, drop, seed, r)
        row_loss = call_head(head, head_mode.TRAIN, at(acts, last), at(params, out_bias),
                             at(Y, i * n_out), at(SW, i), at(deltas, last), at(grad, out_bias), 1,
                             n_out, np.float64(loss_param), 1.0, 0.0, at(sw_row, 0))
        total += (row_loss + 0.5 * alpha * sq) / w
        inv_w = one / w
        if adam:
            t += 1
            lr_ = dtype(adam_lr(lr, beta1, beta2, t))
        # Each parameter takes its optimizer step as soon as its gradient is
        # made and its old value used (the delta backpropagates through the
        # old weights), with the step component's arithmetic: no pass over
        # a gradient buffer.
        for l in range(n_layers - 1, -1, -1):
            fi = units[l]
            fo = units[l + 1]
            off_w = cell(offsets, COEF, l)
            off_b = cell(offsets, INTERCEPT, l)
            off_a = cell(offsets, BLOCK, l)
            below = off_a - fi  # the layer's input (l > 0)
            inp, off_in = (x, xo) if l == 0 else (A, below)
            # Same arithmetic in both loop orders; see _row_forward.
            if fo >= _WIDE:
                for k in range(fi):
                    row = off_w + k * fo
                    if l > 0:
                        acc = 0.0
                        for j in range(fo):
                            acc += E[off_a + j] * P[row + j]
                        E[below + k] = acc
                    a = inp[off_in + k]
                    for j in range(fo):
                        _update(P, M1, M2, row + j, (a * E[off_a + j] + fa * P[row + j]) * inv_w,
                                adam, lr_, mom, nesterov, b1, b2, e)
            else:
                # Unit by unit (a unit's weights are strided by fo): the delta
                # below, and the weights' gradient products into ``G``; then
                # the steps in one contiguous loop, which vectorizes (taken in
                # the strided loop, they were a quarter of a 20-64-3 step).
                if l > 0:
                    for k in range(fi):
                        E[below + k] = 0.0
                for j in range(fo):
                    d = E[off_a + j]
                    for k in range(fi):
                        i_w = off_w + k * fo + j
                        if l > 0:
                            E[below + k] += d * P[i_w]
                        G[i_w] = inp[off_in + k] * d
                _steps(P, M1, M2, G, off_w, off_w + fi * fo, fa, inv_w, adam, lr_, mom,
                       nesterov, b1, b2, e)
            if l > 0:
                for k in range(fi):
                    E[below + k] *= D[below + k]
            for j in range(fo):
                _update(P, M1, M2, off_b + j, E[off_a + j] * inv_w, adam, lr_, mom, nesterov,
                        b1, b2, e)
        sq = call_step(step, SQNORM, at(params, 0), at(params, 0), at(params, 0), at(params, 0),
                       params.shape[0], n_coef, 0.0, 0.0, 0.0, 0.0, False, 0.0, 0.0, 0.0, False)
    return total, t


