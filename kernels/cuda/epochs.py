"""One training epoch on the GPU; the twin of ``kernels.cpu.epochs``.

Same arguments and return value as ``kernels.cpu.minibatch_epoch``, with
params, moment1, moment2, Xd and Y as device arrays; ``SW`` and ``order``
stay host arrays (the shuffle is drawn on the host; the batches' weight
sums are taken there). The epoch's loss accumulates on the device and is
read back once, at the end.

Where a tile of rows fits in shared memory (``fused.tile_rows``) the
epoch runs the fused step of ``fused.py``; otherwise, below, layer by
layer with a few launches per layer and step. Sparse X stays in CSR
form on the device and always trains layer by layer: the first layer reads
each batch's stored entries in place (``dense.SparseRows``), never a dense
batch of X.
"""

import numpy as np
from numba import cuda

from .. import codes
from ..optimizers import adam_lr
from .dense import SparseRows, gather_rows
from .fused import minibatch_epoch_fused, tile_rows
from .losses import loss_sum, output_delta
from .network import backward_pass, coef_sqnorm, forward_pass, layer_view, n_coef
from .optimizers import adam_step, sgd_step


@cuda.jit
def accumulate_loss_kernel(epoch_total, batch_loss, sqnorm, half_alpha, sw_sum, n_rows):
    """epoch_total += (batch_loss + half_alpha * sqnorm) / sw_sum * n_rows."""
    if cuda.grid(1) == 0:
        epoch_total[0] += (batch_loss[0] + half_alpha * sqnorm[0]) / sw_sum * n_rows


def minibatch_epochs(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                     batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                     alpha, drop, solver, momentum, nesterov, beta1, beta2, eps):
    """The epochs of one fit, as ``kernels.cpu.minibatch_epochs``:
    ``epoch(seed, lr, t)`` runs ``minibatch_epoch`` with these arguments."""
    def epoch(seed, lr, t):
        return minibatch_epoch(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y,
                               SW, order, batch_size, units, hidden_code, act_param, out_code,
                               loss_code, loss_param, alpha, drop, seed, solver, lr, momentum,
                               nesterov, beta1, beta2, eps, t)

    return epoch


def minibatch_epoch(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                    batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                    alpha, drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    T = 0 if is_sparse else tile_rows(units, params.dtype, batch_size)
    if T > 0:
        return minibatch_epoch_fused(params, moment1, moment2, Xd, data, indices, indptr,
                                     is_sparse, Y, SW, order, batch_size, T,
                                     units, hidden_code, act_param, out_code, loss_code,
                                     loss_param, alpha, drop, seed, solver, lr, momentum,
                                     nesterov, beta1, beta2, eps, t)
    dtype = np.dtype(params.dtype)
    n = order.shape[0]
    units = [int(u) for u in units]
    n_layers = len(units) - 1
    width = sum(units[1:])
    d_acts = cuda.device_array(batch_size * width, dtype=dtype)
    d_derivs = cuda.device_array(batch_size * width, dtype=dtype)
    d_deltas = cuda.device_array(batch_size * width, dtype=dtype)
    d_grad = cuda.device_array(params.shape[0], dtype=dtype)
    d_xb = None if is_sparse else cuda.device_array((batch_size, units[0]), dtype=dtype)
    d_yb = cuda.device_array((batch_size, units[-1]), dtype=dtype)
    d_rows = cuda.to_device(np.ascontiguousarray(order, dtype=np.int64))
    d_total = cuda.to_device(np.zeros(1))
    sw_sorted = np.ascontiguousarray(SW[order], dtype=dtype)  # in batch order
    d_SW = cuda.to_device(sw_sorted)
    n_w = n_coef(units)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        nb = stop - start
        sw_sum = float(np.sum(sw_sorted[start:stop], dtype=np.float64))
        if sw_sum == 0.0:
            continue  # an all-zero-weight batch carries no gradient
        rows = d_rows[start:stop]
        if is_sparse:
            x = SparseRows(data, indices, indptr, rows, units[0])
        else:
            gather_rows(d_xb, Xd, None, None, None, False, rows)
            x = d_xb[:nb]
        gather_rows(d_yb, Y, None, None, None, False, rows)
        y = d_yb[:nb]
        sw = d_SW[start:stop]
        out = forward_pass(d_acts, d_derivs, x, params, units, batch_size, hidden_code,
                           act_param, out_code, drop, seed, start)
        accumulate_loss_kernel[1, 1](d_total, loss_sum(out, y, sw, loss_code, loss_param),
                                     coef_sqnorm(params, units), 0.5 * float(alpha), sw_sum, nb)
        output_delta(layer_view(d_deltas, units, batch_size, n_layers, nb), out, y, sw, 1.0,
                     loss_code, loss_param)
        backward_pass(d_grad, d_deltas, d_acts, d_derivs, x, params, units, batch_size)
        if solver == codes.SGD:
            sgd_step(params, moment1, d_grad, n_w, alpha, sw_sum, lr, momentum, nesterov)
        else:
            t += 1
            adam_step(params, moment1, moment2, d_grad, n_w, alpha, sw_sum,
                      adam_lr(lr, beta1, beta2, t), beta1, beta2, eps)
    return float(d_total.copy_to_host()[0]), t
