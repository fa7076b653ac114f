"""Whole-network passes over one flat parameter buffer.

Layout (scikit-learn's ``_pack``): ``coefs_[0].ravel(), ..., coefs_[L-1].ravel(),
intercepts_[0], ..., intercepts_[L-1]``, where ``units`` (int64, length
L + 1) gives the width of every layer from the input to the output.

Activation, derivative and delta buffers are flat too: for a batch of at most
``cap`` rows, the block of layer ``l``'s output (l = 0..L-1, rows first)
starts at ``cap * (units[1] + ... + units[l])``. ``layout`` gives every
offset; the kernels slice their views out of the buffers with it.
"""

import numpy as np

from .activations import (
    activation_backward_sum,
    bias_activation_forward,
    dropout_forward,
)
from .dense import dense_backward
from .losses import loss_sum, output_delta
from ._jit import jit, jit_inner, jit_sum


@jit
def n_params(units):
    """Length of the flat buffer for a network of widths ``units``."""
    total = 0
    for l in range(units.shape[0] - 1):
        total += units[l] * units[l + 1] + units[l + 1]
    return total


@jit_inner
def layout(units, cap):
    """Where each layer lives in the flat buffers: the start of layer
    ``l``'s weights, ``(units[l], units[l+1])``, and of its intercept in
    the parameter buffer; the start of its output block in an activation
    buffer for batches of at most ``cap`` rows; and that buffer's length.
    Returns ``(coef_off, bias_off, act_off, size)``, the offsets (n_layers,)
    int64."""
    n_layers = units.shape[0] - 1
    coef_off = np.empty(n_layers, dtype=np.int64)
    bias_off = np.empty(n_layers, dtype=np.int64)
    act_off = np.empty(n_layers, dtype=np.int64)
    off = 0
    for l in range(n_layers):
        coef_off[l] = off
        off += units[l] * units[l + 1]
    for l in range(n_layers):
        bias_off[l] = off
        off += units[l + 1]
    size = 0
    for l in range(n_layers):
        act_off[l] = size
        size += cap * units[l + 1]
    return coef_off, bias_off, act_off, size


@jit_sum
def coef_sqnorm(params, units):
    """Sum of squared weights (intercepts excluded), for the L2 penalty."""
    n_coef = 0
    for l in range(units.shape[0] - 1):
        n_coef += units[l] * units[l + 1]
    s = 0.0
    for k in range(n_coef):
        s += np.float64(params[k]) * np.float64(params[k])
    return s


@jit
def forward_pass(acts, dacts, x, params, units, cap, hidden_code, act_param, out_code,
                 drop, seed, row0):
    """Forward the rows of ``x`` through the network into ``acts``.

    acts : flat activation buffer (see module doc); x : (n_rows, units[0]),
    n_rows <= cap. Returns the output layer's view, (n_rows, units[-1]).

    Training passes ``dacts``, laid out as ``acts``: each hidden layer's
    derivative (see activations.py) lands there, and hidden layer ``l``
    drops units at rate ``drop[l]`` (float64, one per hidden layer) with
    the masks of ``seed`` for rows at epoch positions ``row0, row0 + 1,
    ...``. Prediction passes an empty ``dacts`` (then ``drop`` is unused).
    """
    n_layers = units.shape[0] - 1
    n = x.shape[0]
    train = dacts.shape[0] > 0
    no_dz = dacts[:0].reshape((0, 0))
    coef_off, bias_off, act_off, _ = layout(units, cap)
    inp = x
    for l in range(n_layers):
        fi, fo = units[l], units[l + 1]
        block = slice(act_off[l], act_off[l] + n * fo)
        out = acts[block].reshape((n, fo))
        hidden = l < n_layers - 1
        # dense_forward, with the bias added in the activation's pass
        np.dot(inp, params[coef_off[l] : coef_off[l] + fi * fo].reshape((fi, fo)), out)
        dz = dacts[block].reshape((n, fo)) if train and hidden else no_dz
        bias_activation_forward(out, dz, params[bias_off[l] : bias_off[l] + fo],
                                hidden_code if hidden else out_code, act_param)
        if hidden and train and drop[l] > 0.0:
            # the layer's first unit among all hidden units: act_off[l] / cap
            dropout_forward(out, dz, drop[l], seed, row0, act_off[l] // cap)
        inp = out
    return inp


@jit
def backward_pass(grad, deltas, acts, dacts, x, params, units, cap):
    """Backpropagate the output delta (already in ``deltas``' last block)
    and write the raw gradient sums into ``grad``: ``a.T @ delta`` for the
    weights and ``delta.sum(0)`` for the intercepts, with no penalty and no
    normalisation. ``acts`` and ``dacts`` are as a training forward_pass
    left them. grad : (n_params,); x : (n_rows, units[0])."""
    n_layers = units.shape[0] - 1
    n = x.shape[0]
    coef_off, bias_off, act_off, _ = layout(units, cap)
    # The first layer's input gradient is not needed: an empty view of a
    # writable buffer (x may be read-only, and dinp's type must not be).
    empty = deltas[:0].reshape((0, units[0]))
    for l in range(n_layers - 1, -1, -1):
        fi, fo = units[l], units[l + 1]
        coef = slice(coef_off[l], coef_off[l] + fi * fo)
        dout = deltas[act_off[l] : act_off[l] + n * fo].reshape((n, fo))
        # A hidden layer's intercept gradient is summed by
        # activation_backward_sum one step later; only the output's is left.
        db = grad[bias_off[l] : bias_off[l] + (fo if l == n_layers - 1 else 0)]
        if l > 0:
            below = slice(act_off[l - 1], act_off[l - 1] + n * fi)
            inp = acts[below].reshape((n, fi))
            dinp = deltas[below].reshape((n, fi))
        else:
            below = slice(0, 0)
            inp = x
            dinp = empty
        dense_backward(dinp, grad[coef].reshape((fi, fo)), db, dout, inp,
                       params[coef].reshape((fi, fo)))
        if l > 0:
            activation_backward_sum(dinp, dacts[below].reshape((n, fi)),
                                    grad[bias_off[l - 1] : bias_off[l - 1] + fi])


@jit
def finish_grad(grad, params, units, alpha, sw_sum):
    """Turn raw gradient sums into scikit-learn's gradient in place:
    weights (sum + alpha * W) / sw_sum, intercepts sum / sw_sum."""
    n_coef = 0
    for l in range(units.shape[0] - 1):
        n_coef += units[l] * units[l + 1]
    for k in range(n_coef):
        grad[k] += alpha * params[k]
        grad[k] /= sw_sum
    for k in range(n_coef, grad.shape[0]):
        grad[k] /= sw_sum


@jit
def gather_rows(xb, Xd, data, indices, indptr, is_sparse, rows):
    """Copy the rows ``rows`` of X into the dense buffer ``xb[:len(rows)]``.

    X is dense ``Xd`` (n, n_features) or, when ``is_sparse``, CSR arrays
    ``data, indices, indptr`` (then ``Xd`` is unused).
    """
    n = rows.shape[0]
    m = xb.shape[1]
    if is_sparse:
        for r in range(n):
            for j in range(m):
                xb[r, j] = 0.0
            i = rows[r]
            for p in range(indptr[i], indptr[i + 1]):
                xb[r, indices[p]] += data[p]
    else:
        for r in range(n):
            src = Xd[rows[r]]  # row views let LLVM vectorize the copy
            dst = xb[r]
            for j in range(m):
                dst[j] = src[j]


@jit_inner
def row_block(xb, Xd, data, indices, indptr, is_sparse, start, stop):
    """Rows ``[start, stop)`` of X as a dense 2-D array: a view of dense X,
    or sparse X's rows gathered into ``xb``."""
    if is_sparse:
        gather_rows(xb, Xd, data, indices, indptr, is_sparse, np.arange(start, stop))
        return xb[: stop - start]
    return Xd[start:stop]


@jit
def loss_grad(grad, params, Xd, data, indices, indptr, is_sparse, Y, SW, units,
              hidden_code, act_param, out_code, loss_code, loss_param, alpha, delta_scale,
              chunk):
    """Full-batch loss and gradient (for L-BFGS), in row chunks of ``chunk``.

    Returns scikit-learn's loss over all rows (weighted mean loss plus
    ``0.5 * alpha * ||W||^2 / sum(SW)``) and writes its gradient into
    ``grad``. ``delta_scale`` scales the output delta: 1 reproduces
    scikit-learn, ``1 / n_outputs`` for multi-output squared error makes
    the gradient that of the reported loss. No dropout (a full-batch
    objective is deterministic).

    Y : (n, n_outputs); SW : (n,); grad, params : (n_params,).
    """
    n = Y.shape[0]
    n_layers = units.shape[0] - 1
    cap = min(chunk, n)
    act_off, size = layout(units, cap)[2:]
    acts = np.empty(size, dtype=params.dtype)
    dacts = np.empty(size, dtype=params.dtype)
    deltas = np.empty(size, dtype=params.dtype)
    no_drop = np.zeros(n_layers - 1)
    part = np.empty_like(grad)
    xb = np.empty((cap, units[0]), dtype=params.dtype)
    grad[:] = 0.0
    data_loss = 0.0
    sw_sum = 0.0
    for start in range(0, n, cap):
        stop = min(start + cap, n)
        nb = stop - start
        x = row_block(xb, Xd, data, indices, indptr, is_sparse, start, stop)
        out = forward_pass(acts, dacts, x, params, units, cap, hidden_code, act_param, out_code,
                           no_drop, 0, 0)
        y = Y[start:stop]
        sw = SW[start:stop]
        data_loss += loss_sum(out, y, sw, loss_code, loss_param)
        for i in range(nb):
            sw_sum += sw[i]
        last = act_off[n_layers - 1]
        output_delta(deltas[last : last + nb * units[n_layers]].reshape((nb, units[n_layers])),
                     out, y, sw, delta_scale, loss_code, loss_param)
        backward_pass(part, deltas, acts, dacts, x, params, units, cap)
        for k in range(grad.shape[0]):
            grad[k] += part[k]
    finish_grad(grad, params, units, alpha, params.dtype.type(sw_sum))
    return (data_loss + 0.5 * alpha * coef_sqnorm(params, units)) / sw_sum


@jit
def predict(out, Xd, data, indices, indptr, is_sparse, params, units,
            hidden_code, act_param, out_code, chunk):
    """Forward pass for prediction, in row chunks of ``chunk`` so the extra
    memory is bounded whatever the number of rows. out : (n, units[-1])."""
    n = out.shape[0]
    cap = max(1, min(chunk, n))
    acts = np.empty(layout(units, cap)[3], dtype=params.dtype)
    xb = np.empty((cap, units[0]), dtype=params.dtype)
    no_drop = np.zeros(0)
    for start in range(0, n, cap):
        stop = min(start + cap, n)
        x = row_block(xb, Xd, data, indices, indptr, is_sparse, start, stop)
        res = forward_pass(acts, acts[:0], x, params, units, cap, hidden_code, act_param,
                           out_code, no_drop, 0, 0)
        out[start:stop] = res
