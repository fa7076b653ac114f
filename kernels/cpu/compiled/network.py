"""Whole-network passes over one flat parameter buffer, and the
full-batch drivers (the loss and gradient for L-BFGS, prediction); the
host functions that run them are ``kernels.cpu.network``.

The buffers' layout is ``kernels.layout``'s; the drivers take its
``offsets`` for the batch size they run (``offsets`` below). The drivers here and in
``epochs.py`` see every float buffer as bytes (``size`` bytes an entry: 8
for float64, 4 for float32). They move rows, call BLAS and hand the
components pointers into the buffers; the components (``hidden``, a layer
component; ``head``, the output layer; ``step``, the optimizer) do all the
float arithmetic. So one compile of a driver serves both float dtypes and
every activation, loss and solver.
"""

from .. import activations as layer
from .. import losses as head_mode
from ..network import BLOCK, COEF, INTERCEPT
from ..optimizers import FINISH
from ._jit import jit, jit_inline
from .activations import call_layer
from .dense import (chunk_rows, input_product, input_weight_grad, layer_input_grad,
                    layer_product, layer_weight_grad)
from .losses import call_head
from .optimizers import call_step
from .pointers import at, copy
from .pool import team_layer


@jit_inline
def forward_layers(acts, derivs, x, csr, src, n, offsets, params, units, size, hidden, act_param,
                   mode, drop, seed, row0, team):
    """Forward the ``n`` input rows (at pointer ``x``, (n, units[0]), or
    sparse: ``csr`` and ``src``, see ``dense.input_product``) through the
    hidden layers and the output layer's product into ``acts``, laid out by
    ``offsets`` (``kernels.layout.offsets``); returns the entry offset of
    the output layer's block, which the head takes from there.

    ``mode`` is the hidden layers' (``layer.PREDICT`` or ``layer.TRAIN``).
    Training writes each hidden layer's derivative into ``derivs`` (laid
    out as ``acts``), and hidden layer ``l`` drops units at rate
    ``drop[l]`` (float64) with the masks of ``seed`` for rows at epoch
    positions ``row0, row0 + 1, ...``; prediction reads neither.

    ``team``: the mini-batch driver's threads, which share the products
    and the layers' rows (``pool.py``), or None.
    """
    double = size == 8
    n_layers = units.shape[0] - 1
    col0 = 0  # the layer's first unit among all hidden units (the dropout masks' column)
    inp = x
    for l in range(n_layers):
        fi = units[l]
        fo = units[l + 1]
        block = offsets[BLOCK, l] * size
        out = at(acts, block)
        W = at(params, offsets[COEF, l] * size)
        if l == 0:
            input_product(double, x, csr, src, n, fi, fo, W, out, team)
        else:
            layer_product(double, n, fi, fo, inp, W, out, team)
        if l == n_layers - 1:
            break
        rate = drop[l] if mode == layer.TRAIN else 0.0
        team_layer(team, size, hidden, mode, out, at(derivs, block),
                   at(params, offsets[INTERCEPT, l] * size), n, fo, act_param, rate, seed, row0,
                   col0, 0.0)
        inp = out
        col0 += fo
    return offsets[BLOCK, n_layers - 1]


@jit_inline
def backward_layers(grad, deltas, acts, derivs, x, csr, src, n, offsets, params, units, size,
                    hidden, beta, beta_in, team):
    """Backpropagate the output delta, which the head wrote into
    ``deltas``' last block together with the output intercept gradient,
    through the layers a training ``forward_layers`` left in ``acts`` and
    ``derivs``, and write the raw gradient sums into ``grad``: ``a.T @
    delta`` for the weights and ``delta.sum(0)`` for the intercepts, no
    penalty, no normalisation. ``beta`` 0 overwrites ``grad``, 1 adds to
    it (the chunks of a full batch); ``beta_in`` is the first layer's
    weights' (the mini-batch driver adds sparse rows' products to rows it
    keeps at zero). The input rows and ``offsets``: as for
    ``forward_layers``, and ``team``."""
    double = size == 8
    n_layers = units.shape[0] - 1
    for l in range(n_layers - 1, -1, -1):
        fi = units[l]
        fo = units[l + 1]
        dout = at(deltas, offsets[BLOCK, l] * size)
        dW = at(grad, offsets[COEF, l] * size)
        if l == 0:
            input_weight_grad(double, x, csr, src, n, fi, fo, dout, beta_in, dW, team)
            break
        below = offsets[BLOCK, l - 1] * size  # layer l's input block
        layer_weight_grad(double, n, fi, fo, at(acts, below), dout, beta, dW, team)
        dinp = at(deltas, below)
        layer_input_grad(double, n, fi, fo, dout, at(params, offsets[COEF, l] * size), dinp,
                         team)
        # the derivative, and the layer below's intercept gradient
        team_layer(team, size, hidden, layer.BACKWARD, dinp, at(derivs, below),
                   at(grad, offsets[INTERCEPT, l - 1] * size), n, fi, 0.0, 0.0, 0, 0, 0, beta)


@jit
def loss_grad_kernel(hidden, head, step, csr, size, grad, params, Xd, data, indices, indptr,
                     is_sparse, Y, SW, units, offsets, act_param, loss_param, alpha, delta_scale,
                     chunk, acts, derivs, deltas, xb, rows, sw_chunk, no_drop):
    """Full-batch loss and gradient (for L-BFGS), in row chunks of ``chunk``.

    Returns scikit-learn's loss over all rows (weighted mean loss plus
    ``0.5 * alpha * ||W||^2 / sum(SW)``) and writes its gradient into
    ``grad``. ``delta_scale`` scales the output delta: 1 reproduces
    scikit-learn, ``1 / n_outputs`` for multi-output squared error makes
    the gradient that of the reported loss. No dropout (a full-batch
    objective is deterministic). ``step`` is only asked to finish the
    gradient (its FINISH mode); ``csr``, for sparse X read in place, is the
    first layer's (see ``dense.input_product``; else not called).

    Y : (n, n_outputs) and SW : (n,) as bytes; grad, params : (n_params,)
    as bytes; ``offsets`` for chunks of ``max_rows`` rows. Scratch: ``acts``,
    ``derivs``, ``deltas`` (bytes of ``max_rows * width`` entries, ``max_rows`` the rows of a chunk,
    ``width`` the network's units past the input), ``xb`` (``max_rows *
    units[0]`` entries, for sparse X not read in place by ``csr``), ``rows``
    (int64, max_rows), ``sw_chunk`` (float64, 1); ``no_drop``: the layers'
    dropout rates, zeros (float64, n_layers).
    """
    n = SW.shape[0] // size
    n_layers = units.shape[0] - 1
    n_in = units[0]
    n_out = units[n_layers]
    max_rows = chunk if chunk < n else n
    out_bias = offsets[INTERCEPT, n_layers - 1] * size
    data_loss = 0.0
    sw_sum = 0.0
    for start in range(0, n, max_rows):
        nb = max_rows if start + max_rows < n else n - start
        x = chunk_rows(xb, Xd, data, indices, indptr, is_sparse, csr, rows, start, nb, n_in, size)
        src = (data, indices, indptr, rows)
        last = forward_layers(acts, derivs, x, csr, src, nb, offsets, params, units, size,
                              hidden, act_param, layer.TRAIN, no_drop, 0, 0, None)
        beta = 0.0 if start == 0 else 1.0
        data_loss += call_head(head, head_mode.TRAIN, at(acts, last * size), at(params, out_bias),
                               at(Y, start * n_out * size), at(SW, start * size),
                               at(deltas, last * size), at(grad, out_bias), nb, n_out,
                               loss_param, delta_scale, beta, at(sw_chunk, 0))
        sw_sum += sw_chunk[0]
        backward_layers(grad, deltas, acts, derivs, x, csr, src, nb, offsets, params, units,
                        size, hidden, beta, beta, None)
    sq = call_step(step, FINISH, at(params, 0), at(params, 0), at(params, 0), at(grad, 0),
                   params.shape[0] // size, offsets[INTERCEPT, 0], alpha, sw_sum, 0.0, 0.0,
                   False, 0.0, 0.0, 0.0, False)
    return (data_loss + 0.5 * alpha * sq) / sw_sum


@jit
def predict_kernel(hidden, head, csr, size, out, Xd, data, indices, indptr, is_sparse, params,
                   units, offsets, act_param, chunk, acts, xb, rows, no_drop):
    """Forward pass for prediction, in row chunks of ``chunk`` so the extra
    memory is bounded whatever the number of rows. out : (n, units[-1]) as
    bytes. Scratch as in ``loss_grad_kernel`` (``acts`` for ``max_rows``
    rows, at least 1); ``no_drop`` is not read."""
    n_layers = units.shape[0] - 1
    n_in = units[0]
    n_out = units[n_layers]
    n = out.shape[0] // (n_out * size)
    max_rows = chunk if chunk < n else (n if n > 0 else 1)
    out_bias = at(params, offsets[INTERCEPT, n_layers - 1] * size)
    for start in range(0, n, max_rows):
        nb = max_rows if start + max_rows < n else n - start
        x = chunk_rows(xb, Xd, data, indices, indptr, is_sparse, csr, rows, start, nb, n_in, size)
        last = forward_layers(acts, acts, x, csr, (data, indices, indptr, rows), nb, offsets,
                              params, units, size, hidden, act_param, layer.PREDICT, no_drop, 0,
                              0, None)
        z = at(acts, last * size)
        call_head(head, head_mode.PREDICT, z, out_bias, z, z, z, z, nb, n_out, 0.0, 0.0, 0.0, z)
        copy(at(out, start * n_out * size), z, nb * n_out * size)


@jit
def forward_pass_kernel(hidden, head, size, acts, derivs, x, n, offsets, params, units,
                        act_param, train, drop, seed, row0, none):
    """The forward pass of the training drivers, the output activation
    included, on the n rows of dense ``x``; returns the output block's
    offset (in entries). ``none``: an empty int64 array."""
    n_layers = units.shape[0] - 1
    mode = layer.TRAIN if train else layer.PREDICT
    last = forward_layers(acts, derivs, at(x, 0), None, (x, none, none, none), n, offsets,
                          params, units, size, hidden, act_param, mode, drop, seed, row0, None)
    z = at(acts, last * size)
    call_head(head, head_mode.PREDICT, z, at(params, offsets[INTERCEPT, n_layers - 1] * size),
              z, z, z, z, n, units[n_layers], 0.0, 0.0, 0.0, z)
    return last


@jit
def backward_pass_kernel(hidden, size, grad, deltas, acts, derivs, x, n, offsets, params, units,
                         none):
    """The backward pass of the training drivers from the output delta in
    ``deltas``' last block: the output intercept gradient (which the
    drivers' head forms with the delta), then ``backward_layers``; ``x``
    dense, ``none`` an empty int64 array."""
    n_layers = units.shape[0] - 1
    last = at(deltas, offsets[BLOCK, n_layers - 1] * size)
    call_layer(hidden, layer.BIAS, last, last, at(grad, offsets[INTERCEPT, n_layers - 1] * size),
               n, units[n_layers], 0.0, 0.0, 0, 0, 0, 0.0)
    backward_layers(grad, deltas, acts, derivs, at(x, 0), None, (x, none, none, none), n,
                    offsets, params, units, size, hidden, 0.0, 0.0, None)


