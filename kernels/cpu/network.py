"""Whole-network passes over one flat parameter buffer.

Layout (scikit-learn's ``_pack``): ``coefs_[0].ravel(), ..., coefs_[L-1].ravel(),
intercepts_[0], ..., intercepts_[L-1]``, where ``units`` (int64, length
L + 1) gives the width of every layer from the input to the output.

Activation, derivative and delta buffers are flat too: for a batch of at most
``cap`` rows, layer ``l``'s block (l = 1..L) starts at
``cap * (units[1] + ... + units[l-1])``.
"""

import numpy as np

from .activations import (
    activation_backward_sum,
    bias_activation_forward,
    dropout_forward,
)
from .dense import dense_backward
from .losses import loss_sum, output_delta
from ._jit import jit, jit_sum


@jit
def n_params(units):
    """Length of the flat buffer for a network of widths ``units``."""
    total = 0
    for l in range(units.shape[0] - 1):
        total += units[l] * units[l + 1] + units[l + 1]
    return total


@jit
def coef_view(params, units, l):
    """Layer ``l``'s weights, a (units[l], units[l+1]) view into ``params``."""
    off = 0
    for k in range(l):
        off += units[k] * units[k + 1]
    size = units[l] * units[l + 1]
    return params[off : off + size].reshape((units[l], units[l + 1]))


@jit
def intercept_view(params, units, l):
    """Layer ``l``'s intercept, a (units[l+1],) view into ``params``."""
    off = 0
    for k in range(units.shape[0] - 1):
        off += units[k] * units[k + 1]
    for k in range(l):
        off += units[k + 1]
    return params[off : off + units[l + 1]]


@jit
def layer_view(buf, units, cap, l, n_rows):
    """Rows ``[0, n_rows)`` of layer ``l``'s block (l >= 1) in an activation
    or delta buffer laid out for batches of at most ``cap`` rows."""
    off = 0
    for k in range(1, l):
        off += cap * units[k]
    return buf[off : off + n_rows * units[l]].reshape((n_rows, units[l]))


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
    inp = x
    col0 = 0
    for l in range(n_layers):
        out = layer_view(acts, units, cap, l + 1, n)
        hidden = l < n_layers - 1
        # dense_forward, with the bias added in the activation's pass
        np.dot(inp, coef_view(params, units, l), out)
        dz = layer_view(dacts, units, cap, l + 1, n) if train and hidden else no_dz
        bias_activation_forward(out, dz, intercept_view(params, units, l),
                                hidden_code if hidden else out_code, act_param)
        if hidden:
            if train and drop[l] > 0.0:
                dropout_forward(out, dz, drop[l], seed, row0, col0)
            col0 += units[l + 1]
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
    # The first layer's input gradient is not needed: an empty view of a
    # writable buffer (x may be read-only, and dinp's type must not be).
    empty = deltas[:0].reshape((0, units[0]))
    for l in range(n_layers - 1, -1, -1):
        dout = layer_view(deltas, units, cap, l + 1, n)
        db = intercept_view(grad, units, l)
        if l < n_layers - 1:
            db = db[:0]  # already summed by activation_backward_sum below
        if l > 0:
            inp = layer_view(acts, units, cap, l, n)
            dinp = layer_view(deltas, units, cap, l, n)
        else:
            inp = x
            dinp = empty
        dense_backward(dinp, coef_view(grad, units, l), db, dout, inp,
                       coef_view(params, units, l))
        if l > 0:
            activation_backward_sum(dinp, layer_view(dacts, units, cap, l, n),
                                    intercept_view(grad, units, l - 1))


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


@jit
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
    width = units[1:].sum()
    acts = np.empty(cap * width, dtype=params.dtype)
    dacts = np.empty(cap * width, dtype=params.dtype)
    deltas = np.empty(cap * width, dtype=params.dtype)
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
        output_delta(layer_view(deltas, units, cap, n_layers, nb), out, y, sw, delta_scale,
                     loss_code, loss_param)
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
    width = units[1:].sum()
    acts = np.empty(cap * width, dtype=params.dtype)
    xb = np.empty((cap, units[0]), dtype=params.dtype)
    no_drop = np.zeros(0)
    for start in range(0, n, cap):
        stop = min(start + cap, n)
        x = row_block(xb, Xd, data, indices, indptr, is_sparse, start, stop)
        res = forward_pass(acts, acts[:0], x, params, units, cap, hidden_code, act_param,
                           out_code, no_drop, 0, 0)
        out[start:stop] = res
