"""The fused mini-batch training step: two launches per batch, one per epoch.

For networks whose activations for a tile of rows fit in a block's shared
memory (every width scikit-learn users train; see ``tile_rows``):

- ``tile_grad_kernel``: one block per tile of ``T`` rows of the batch. It
  reads its rows of X and Y through the epoch's row order (no gather
  launch; dense X only: sparse X trains layer by layer), runs forward and backward
  with the tile's activations and derivatives in shared memory, and
  writes the tile's raw gradient sums to its own row of ``partial`` and
  its weighted loss to ``tile_loss``.
  Per-block partials: no float atomics.
- ``reduce_step_kernel``: one thread per parameter sums the tiles'
  partials in tile order, finishes the gradient (L2 term, division by the
  batch's weight sum) and takes the SGD or Adam step. Each block also
  writes the sum of squares of its weights before the step (the L2
  penalty at the forward's weights).
- ``epoch_loss_kernel``: once per epoch, one thread sums those per-batch
  parts into the epoch's loss, batch by batch in order.

Every sum runs in a fixed order, so a given ``random_state`` gives the same
model twice. Each element's arithmetic is the layer-by-layer kernels' (the
same device functions), except that a gradient sums over its batch's rows
tile by tile.

Shared memory, per tile: ``2 * T * width`` values of the parameters'
dtype (activations, then derivatives, which backward overwrites with the
deltas), ``width`` the sum of the layer widths.
"""

import functools

import numba
import numpy as np
from numba import cuda

from .. import codes, layout
from ..activations import activate, softmax_row
from ..dropout import dropout_scale
from ..losses import delta_of, delta_scale, row_loss
from ..optimizers import adam_lr, adam_update, momentum_update, penalized
from . import _launch
from .activations import keep

#: Dynamic shared memory a tile may use (the per-block default).
SHARED_BYTES = 48 * 1024
#: Most rows in one tile: more rows amortize each weight read over more
#: rows; fewer give more blocks for a batch.
MAX_TILE_ROWS = 32


def tile_rows(units, dtype, batch_size):
    """Rows per tile for this network, or 0 when even one row's activations
    do not fit in shared memory (then training runs layer by layer)."""
    width = int(sum(int(u) for u in units[1:]))
    fit = SHARED_BYTES // (2 * width * np.dtype(dtype).itemsize)
    return int(max(0, min(fit, MAX_TILE_ROWS, batch_size)))


@functools.lru_cache(maxsize=None)
def _tile_grad_kernel(dtype):
    nb_dtype = numba.from_dtype(np.dtype(dtype))

    @cuda.jit
    def tile_grad_kernel(partial, tile_loss, batch, X, Y, SWo, rows, start, nb, T, params, units,
                         coef_off, bias_off, act_off, hidden_code, act_param, out_code,
                         loss_code, loss_param, eps_clip, drop, seed):
        """Block ``tile`` takes batch rows ``i = tile * T`` on (epoch
        positions ``start + i``: X and Y row ``rows[start + i]``, weight
        ``SWo[start + i]``).
        Shared layout, per layer l: its T x units[l + 1] block at
        ``T * act_off[l]``, activations first, derivatives/deltas
        ``T * width`` further."""
        sh = cuda.shared.array(0, nb_dtype)
        tile = cuda.blockIdx.x
        tid = cuda.threadIdx.x
        nt = cuda.blockDim.x
        r0 = tile * T
        tn = min(T, nb - r0)
        n_layers = units.shape[0] - 1
        n_out = units[n_layers]
        dz0 = T * act_off[n_layers]  # start of the derivative half
        pos0 = start + r0  # epoch position of the tile's first row

        # Forward, layer by layer; one thread per (row, unit) in turn.
        col0 = 0  # the layer's first unit among the hidden units (dropout)
        for l in range(n_layers):
            fi = units[l]
            fo = units[l + 1]
            a_in = T * act_off[l - 1] if l > 0 else 0
            a_out = T * act_off[l]
            hidden = l < n_layers - 1
            for idx in range(tid, tn * fo, nt):
                r = idx // fo
                j = idx - r * fo
                acc = nb_dtype(0.0)
                if l == 0:
                    xi = rows[pos0 + r]
                    for k in range(fi):
                        acc += X[xi, k] * params[coef_off[0] + k * fo + j]
                else:
                    for k in range(fi):
                        acc += sh[a_in + r * fi + k] * params[coef_off[l] + k * fo + j]
                z = acc + params[bias_off[l] + j]
                if hidden:
                    a, d = activate(z, hidden_code, act_param)
                    rate = drop[l]
                    if rate > 0.0:
                        if keep(seed, pos0 + r, col0 + j, rate):
                            scale = dropout_scale(rate, a)
                            a *= scale
                            d *= scale
                        else:
                            a = nb_dtype(0.0)
                            d = nb_dtype(0.0)
                    sh[dz0 + a_out + r * fo + j] = d
                elif out_code != codes.SOFTMAX:
                    a, d = activate(z, out_code, act_param)
                else:
                    a = z
                sh[a_out + r * fo + j] = a
            if hidden:
                col0 += fo
            cuda.syncthreads()

        o_off = T * act_off[n_layers - 1]
        if out_code == codes.SOFTMAX:
            for r in range(tid, tn, nt):
                softmax_row(sh, o_off + r * n_out, n_out)
            cuda.syncthreads()
        if tid == 0:  # the tile's loss, rows in order
            s = 0.0
            for r in range(tn):
                s += SWo[pos0 + r] * row_loss(sh, o_off + r * n_out, Y[rows[pos0 + r]], 0, n_out,
                                              loss_code, loss_param, eps_clip)
            tile_loss[batch, tile] = s
        cuda.syncthreads()
        # Output delta, in place of the outputs.
        w_scale = delta_scale(nb_dtype(1.0), loss_code, n_out)
        for idx in range(tid, tn * n_out, nt):
            r = idx // n_out
            j = idx - r * n_out
            w = SWo[pos0 + r] * w_scale
            res = sh[o_off + idx] - Y[rows[pos0 + r], j]
            sh[o_off + idx] = delta_of(res, loss_code, loss_param) * w
        cuda.syncthreads()

        # Backward. Layer l's delta: the output block (last layer) or the
        # derivative block it overwrote.
        for l in range(n_layers - 1, -1, -1):
            fi = units[l]
            fo = units[l + 1]
            d_off = T * act_off[l] + (0 if l == n_layers - 1 else dz0)
            a_in = T * act_off[l - 1] if l > 0 else 0
            n_w = fi * fo
            for idx in range(tid, n_w + fo, nt):  # raw gradient sums, rows in order
                s = nb_dtype(0.0)
                if idx < n_w:
                    k = idx // fo
                    j = idx - k * fo
                    for r in range(tn):
                        if l == 0:
                            a = X[rows[pos0 + r], k]
                        else:
                            a = sh[a_in + r * fi + k]
                        s += a * sh[d_off + r * fo + j]
                    partial[tile, coef_off[l] + idx] = s
                else:
                    j = idx - n_w
                    for r in range(tn):
                        s += sh[d_off + r * fo + j]
                    partial[tile, bias_off[l] + j] = s
            if l > 0:  # delta of layer l - 1, over its derivative block
                for idx in range(tid, tn * fi, nt):
                    r = idx // fi
                    k = idx - r * fi
                    s = nb_dtype(0.0)
                    for j in range(fo):
                        s += sh[d_off + r * fo + j] * params[coef_off[l] + k * fo + j]
                    sh[dz0 + a_in + idx] = s * sh[dz0 + a_in + idx]
            cuda.syncthreads()

    return tile_grad_kernel


@cuda.jit
def reduce_step_kernel(params, moment1, moment2, partial, n_tiles, n_coef, alpha, sw_sum,
                       solver, lr, momentum, nesterov, beta1, beta2, eps, sq_part, batch):
    """Thread k: parameter k's gradient, summed over tiles in order, then
    its optimizer step. Block b: sq_part[batch, b] = sum of the squares of
    its weights before the step, in thread order."""
    sq = cuda.shared.array(1024, numba.float64)
    k = cuda.grid(1)
    tid = cuda.threadIdx.x
    n = params.shape[0]
    p = params[k] if k < n else params.dtype.type(0.0)
    sq[tid] = float(p) * float(p) if k < n_coef else 0.0
    cuda.syncthreads()
    if tid == 0:
        s = 0.0
        for i in range(cuda.blockDim.x):
            s += sq[i]
        sq_part[batch, cuda.blockIdx.x] = s
    if k >= n:
        return
    g = partial[0, k]
    for b in range(1, n_tiles):
        g += partial[b, k]
    g = penalized(g, p, k, n_coef, alpha) / sw_sum
    if solver == codes.SGD:
        params[k], moment1[k] = momentum_update(p, moment1[k], g, lr, momentum, nesterov)
    else:
        params[k], moment1[k], moment2[k] = adam_update(p, moment1[k], moment2[k], g, lr, beta1,
                                                        beta2, eps)


@cuda.jit
def epoch_loss_kernel(total, tile_loss, sq_part, sw_sums, n_rows, half_alpha):
    """total[0] = sum over batches b with weight of
    (sum(tile_loss[b]) + half_alpha * sum(sq_part[b])) / sw_sums[b] * n_rows[b]."""
    if cuda.grid(1) != 0:
        return
    s = 0.0
    for b in range(sw_sums.shape[0]):
        if sw_sums[b] == 0.0:
            continue
        data = 0.0
        for t in range(tile_loss.shape[1]):
            data += tile_loss[b, t]
        sq = 0.0
        for t in range(sq_part.shape[1]):
            sq += sq_part[b, t]
        s += (data + half_alpha * sq) / sw_sums[b] * n_rows[b]
    total[0] = s


def minibatch_epoch_fused(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW,
                          order, batch_size, T, units, hidden_code, act_param, out_code,
                          loss_code, loss_param, alpha, drop, seed, solver, lr, momentum,
                          nesterov, beta1, beta2, eps, t):
    """``minibatch_epoch`` through the fused kernels, ``T`` rows a tile
    (``tile_rows``); same arguments otherwise, same return value."""
    dtype = np.dtype(params.dtype)
    cast = dtype.type
    n = order.shape[0]
    units_h = np.asarray(units, dtype=np.int64)
    n_layers = units_h.shape[0] - 1
    n_coef, width = layout.n_coef_and_width(units_h)
    offsets = layout.offsets(units_h, 1)
    coef_off, bias_off = offsets[layout.COEF], offsets[layout.INTERCEPT]
    # act_off[l]: where layer l's output starts in a row; act_off[-1]: the width.
    act_off = np.append(offsets[layout.BLOCK], width).astype(np.int64)
    n_params = params.shape[0]
    max_tiles = (batch_size + T - 1) // T
    n_batches = (n + batch_size - 1) // batch_size
    blocks, threads = _launch.grid1(n_params)
    sw_sorted = np.ascontiguousarray(SW[order], dtype=dtype)
    sw_sums = np.array([np.sum(sw_sorted[s : s + batch_size], dtype=np.float64)
                        for s in range(0, n, batch_size)])
    n_rows = np.array([min(batch_size, n - s) for s in range(0, n, batch_size)], np.float64)
    d = cuda.to_device
    d_units, d_coef, d_bias, d_act = d(units_h), d(coef_off), d(bias_off), d(act_off)
    d_drop = d(np.ascontiguousarray(drop, dtype=np.float64))
    d_rows = d(np.ascontiguousarray(order, dtype=np.int64))
    d_SW = d(sw_sorted)
    assert not is_sparse, "sparse X trains layer by layer (epochs.minibatch_epoch)"
    d_partial = cuda.device_array((max_tiles, n_params), dtype=dtype)
    d_tile_loss = d(np.zeros((n_batches, max_tiles)))
    d_sq = d(np.zeros((n_batches, blocks)))
    d_total = cuda.device_array(1, dtype=np.float64)
    shared = 2 * T * int(act_off[n_layers]) * dtype.itemsize
    kernel = _tile_grad_kernel(dtype.str)
    eps_clip = float(np.finfo(dtype).eps)
    step = cast(lr)
    for b, start in enumerate(range(0, n, batch_size)):
        if sw_sums[b] == 0.0:
            continue  # an all-zero-weight batch carries no gradient
        nb = int(n_rows[b])
        n_tiles = (nb + T - 1) // T
        kernel[n_tiles, _launch.TPB, 0, shared](
            d_partial, d_tile_loss, b, Xd, Y, d_SW, d_rows, start, nb, T, params, d_units,
            d_coef, d_bias, d_act, hidden_code, act_param, out_code, loss_code, loss_param,
            eps_clip, d_drop, seed)
        if solver == codes.ADAM:
            t += 1
            step = cast(adam_lr(lr, beta1, beta2, t))
        reduce_step_kernel[blocks, threads](
            params, moment1, moment2, d_partial, n_tiles, n_coef, cast(alpha), cast(sw_sums[b]),
            solver, step, cast(momentum), bool(nesterov), cast(beta1), cast(beta2), cast(eps),
            d_sq, b)
    epoch_loss_kernel[1, 1](d_total, d_tile_loss, d_sq, d(sw_sums), d(n_rows),
                            0.5 * float(alpha))
    return float(d_total.copy_to_host()[0]), t
