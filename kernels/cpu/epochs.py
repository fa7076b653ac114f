"""One training epoch per call: the hot path of ``fit`` for sgd and adam.

Both kernels take the same arguments and visit the rows in the given
``order`` in batches of ``batch_size``, taking for each batch exactly the
step scikit-learn takes: forward, loss (with the L2 penalty at the current
weights), gradient ``(a.T @ delta + alpha * W) / sum(sw)``, then the
optimizer step. They return ``(sum over batches of batch_loss *
batch_rows, adam_t)``.

``minibatch_epoch`` gathers each batch into a preallocated buffer and uses
BLAS; ``sample_epoch`` is the fused per-sample loop for ``batch_size == 1``
(no BLAS, no gradient buffer: each weight is updated as its gradient is
formed, which keeps a small network in L1). Each allocates its scratch
buffers once on entry and nothing per batch.

Arguments: params (n_params,) updated in place; state1, state2 the
optimizer state (SGD: velocity, unused; Adam: first and second moments),
updated in place; X as ``Xd`` or
CSR ``data, indices, indptr`` (``is_sparse``); Y (n, n_outputs); SW (n,);
order (n,) int64 row order; units (int64) the layer widths; the hidden
activation's code and parameter, the output activation's code, the loss's
code and parameter (see ``kernels.codes``); alpha; drop (float64, the
dropout rate of each hidden layer) and seed (int64, this epoch's dropout
seed; row ``order[r]`` gets the masks of position ``r``); solver
(codes.SGD or codes.ADAM); lr (SGD's learning rate or Adam's
learning_rate_init); momentum, nesterov; beta1, beta2, eps; t (Adam's step
count before the epoch). Every other float scalar must have the arrays'
dtype.
"""

import numpy as np

from .. import codes
from .activations import (
    activation_backward,
    bias_activation_forward,
    dropout_forward,
)
from .losses import loss_sum, output_delta
from .network import (
    backward_pass,
    coef_sqnorm,
    forward_pass,
    gather_rows,
    layout,
)
from .optimizers import adam_lr, adam_step, adam_step_raw, sgd_step, sgd_step_raw
from ._jit import jit, jit_inner


@jit
def minibatch_epoch(params, state1, state2,
                    Xd, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
                    units, hidden_code, act_param, out_code, loss_code, loss_param, alpha,
                    drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    n = order.shape[0]
    dtype = params.dtype.type  # scalars made here keep the arrays' dtype
    one = dtype(1.0)
    n_layers = units.shape[0] - 1
    n_out = units[n_layers]
    _, bias_off, act_off, size = layout(units, batch_size)
    n_coef = bias_off[0]  # weights come first in the flat buffer
    acts = np.empty(size, dtype=params.dtype)
    dacts = np.empty(size, dtype=params.dtype)
    deltas = np.empty(size, dtype=params.dtype)
    grad = np.empty_like(params)
    xb = np.empty((batch_size, units[0]), dtype=params.dtype)
    yb = np.empty((batch_size, n_out), dtype=params.dtype)
    swb = np.empty(batch_size, dtype=params.dtype)
    total = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        nb = stop - start
        rows = order[start:stop]
        gather_rows(xb, Xd, data, indices, indptr, is_sparse, rows)
        sw_sum = 0.0
        for r in range(nb):
            i = rows[r]
            for j in range(n_out):
                yb[r, j] = Y[i, j]
            swb[r] = SW[i]
            sw_sum += SW[i]
        if sw_sum == 0.0:
            continue  # an all-zero-weight batch carries no gradient
        x = xb[:nb]
        y = yb[:nb]
        sw = swb[:nb]
        out = forward_pass(acts, dacts, x, params, units, batch_size, hidden_code, act_param,
                           out_code, drop, seed, start)
        batch_loss = loss_sum(out, y, sw, loss_code, loss_param)
        batch_loss = (batch_loss + 0.5 * alpha * coef_sqnorm(params, units)) / sw_sum
        total += batch_loss * nb
        last = act_off[n_layers - 1]
        output_delta(deltas[last : last + nb * n_out].reshape((nb, n_out)), out, y, sw, one,
                     loss_code, loss_param)
        backward_pass(grad, deltas, acts, dacts, x, params, units, batch_size)
        # The step finishes the raw sums as it reads them (optimizers.py).
        if solver == codes.SGD:
            sgd_step_raw(params, state1, grad, n_coef, alpha, dtype(sw_sum), lr, momentum,
                         nesterov)
        else:
            t += 1
            adam_step_raw(params, state1, state2, grad, n_coef, alpha, dtype(sw_sum),
                          dtype(adam_lr(lr, beta1, beta2, t)), beta1, beta2, eps)
    return total, t


@jit_inner
def _optimizer_step(params, state1, state2, grad, solver, lr, momentum, nesterov,
                    beta1, beta2, eps, t):
    """One sgd_step or adam_step (Adam's step ``t`` counts up and its step
    size is bias-corrected here); returns the new ``t``."""
    if solver == codes.SGD:
        sgd_step(params, state1, grad, lr, momentum, nesterov)
        return t
    t += 1
    step = params.dtype.type(adam_lr(lr, beta1, beta2, t))
    adam_step(params, state1, state2, grad, step, beta1, beta2, eps)
    return t


#: Layers at least this wide are computed row-wise (vectorized over units).
_WIDE = 8


@jit_inner
def _row_forward(acts, dacts, x, params, units, coef_off, bias_off, act_off,
                 hidden_code, act_param, out_code, drop, seed, row):
    """Forward one row ``x`` (n_features,) with plain loops; layer ``l``'s
    output lands in ``acts`` at ``act_off[l]``, a hidden layer's derivative
    (times its dropout mask, for epoch position ``row``) in ``dacts``.
    Returns the output."""
    n_layers = units.shape[0] - 1
    inp = x
    for l in range(n_layers):
        fi = units[l]
        fo = units[l + 1]
        out = acts[act_off[l] : act_off[l] + fo]
        W = params[coef_off[l] : coef_off[l] + fi * fo]
        b = params[bias_off[l] : bias_off[l] + fo]
        # Both loop orders sum over k in sequence; row slices let LLVM
        # vectorize over j, and narrow layers run one dot product per unit.
        if fo >= _WIDE:
            for j in range(fo):
                out[j] = 0.0
            for k in range(fi):
                a = inp[k]
                w = W[k * fo : (k + 1) * fo]
                for j in range(fo):
                    out[j] += a * w[j]
        else:
            for j in range(fo):
                acc = 0.0
                for k in range(fi):
                    acc += inp[k] * W[k * fo + j]
                out[j] = acc
        z = out.reshape((1, fo))
        hidden = l < n_layers - 1
        dz = (dacts[act_off[l] : act_off[l] + fo].reshape((1, fo)) if hidden
              else dacts[:0].reshape((0, 0)))
        bias_activation_forward(z, dz, b, hidden_code if hidden else out_code, act_param)
        if hidden and drop[l] > 0.0:
            dropout_forward(z, dz, drop[l], seed, row, act_off[l])
        inp = out
    return inp


@jit
def sample_epoch(params, state1, state2,
                 Xd, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
                 units, hidden_code, act_param, out_code, loss_code, loss_param, alpha,
                 drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    """The fused per-sample epoch (``batch_size`` must be 1): plain loops on
    one row at a time; one pass per layer forms the weight gradient and
    backpropagates through the old weights, then one optimizer step
    updates the whole flat buffer."""
    n = order.shape[0]
    dtype = params.dtype.type  # scalars made here keep the arrays' dtype
    one = dtype(1.0)
    n_layers = units.shape[0] - 1
    coef_off, bias_off, act_off, size = layout(units, 1)
    acts = np.empty(size, dtype=params.dtype)
    dacts = np.empty_like(acts)
    deltas = np.empty_like(acts)
    grad = np.empty_like(params)
    xb = np.empty((1, units[0]), dtype=params.dtype)
    sqnorm = coef_sqnorm(params, units)
    total = 0.0
    for r in range(n):
        i = order[r]
        w = SW[i]
        if w == 0.0:
            continue  # a zero-weight sample carries no gradient
        if is_sparse:
            gather_rows(xb, Xd, data, indices, indptr, is_sparse, order[r : r + 1])
            x = xb[0]
        else:
            x = Xd[i]
        out = _row_forward(acts, dacts, x, params, units, coef_off, bias_off, act_off,
                           hidden_code, act_param, out_code, drop, seed,
                           r).reshape((1, units[n_layers]))
        y = Y[i : i + 1]
        sw = SW[i : i + 1]
        total += (loss_sum(out, y, sw, loss_code, loss_param) + 0.5 * alpha * sqnorm) / w
        last = act_off[n_layers - 1]
        output_delta(deltas[last : last + units[n_layers]].reshape((1, units[n_layers])),
                     out, y, sw, one, loss_code, loss_param)
        inv_w = one / w
        for l in range(n_layers - 1, -1, -1):
            fi = units[l]
            fo = units[l + 1]
            dout = deltas[act_off[l] : act_off[l] + fo]
            W = params[coef_off[l] : coef_off[l] + fi * fo]
            G = grad[coef_off[l] : coef_off[l] + fi * fo]
            inp = x if l == 0 else acts[act_off[l - 1] : act_off[l - 1] + fi]
            dinp = deltas[act_off[l - 1] : act_off[l - 1] + fi] if l > 0 else deltas[:0]
            # Same arithmetic in both loop orders (the delta backpropagates
            # through the weights before they change); see _row_forward.
            if fo >= _WIDE:
                for k in range(fi):
                    a = inp[k]
                    w_row = W[k * fo : (k + 1) * fo]
                    g_row = G[k * fo : (k + 1) * fo]
                    for j in range(fo):
                        g_row[j] = (a * dout[j] + alpha * w_row[j]) * inv_w
                    if l > 0:
                        acc = 0.0
                        for j in range(fo):
                            acc += dout[j] * w_row[j]
                        dinp[k] = acc
            else:
                for k in range(dinp.shape[0]):
                    dinp[k] = 0.0
                for j in range(fo):
                    d = dout[j]
                    for k in range(fi):
                        wv = W[k * fo + j]
                        G[k * fo + j] = (inp[k] * d + alpha * wv) * inv_w
                        if l > 0:
                            dinp[k] += d * wv
            if l > 0:
                dz = dacts[act_off[l - 1] : act_off[l - 1] + fi]
                activation_backward(dinp.reshape((1, fi)), dz.reshape((1, fi)))
            g_b = grad[bias_off[l] : bias_off[l] + fo]
            for j in range(fo):
                g_b[j] = dout[j] * inv_w
        t = _optimizer_step(params, state1, state2, grad, solver, lr, momentum, nesterov,
                            beta1, beta2, eps, t)
        sqnorm = coef_sqnorm(params, units)
    return total, t
