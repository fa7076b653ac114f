"""Whole-network passes over one flat parameter buffer, the full-batch
drivers (the loss and gradient for L-BFGS, prediction), and the host
functions that run them (twins of ``kernels.cuda.network``).

The buffers' layout is ``kernels.layout``'s; the drivers take its
``offsets`` for the batch size they run (``offsets`` below). The drivers here and in
``epochs.py`` see every float buffer as bytes (``size`` bytes an entry: 8
for float64, 4 for float32). They move rows, call BLAS and hand the
components pointers into the buffers; the components (``hidden``, a layer
component; ``head``, the output layer; ``step``, the optimizer) do all the
float arithmetic. So one compile of a driver serves both float dtypes and
every activation, loss and solver.
"""

import numpy as np

from .. import codes, layout
from ..scratch import kept
from . import activations as layer
from . import losses as head_mode
from ._calls import NO_INDEX, as_bytes, input_bytes, named, read_only, run, scratch, x_bytes
from ._jit import jit, jit_inline
from .activations import call_layer, layer_spec
from .dense import (chunk_rows, input_product, input_weight_grad, layer_input_grad,
                    layer_product, layer_weight_grad)
from .losses import call_head, head_spec
from .optimizers import FINISH, SQNORM, call_step, step_call, step_spec
from .pointers import at, copy
from .sparse import csr_specs, in_place

COEF, INTERCEPT, BLOCK = layout.COEF, layout.INTERCEPT, layout.BLOCK


@jit_inline
def forward_layers(acts, derivs, x, csr, src, n, offsets, params, units, size, hidden, act_param,
                   mode, drop, seed, row0):
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
            input_product(double, x, csr, src, n, fi, fo, W, out)
        else:
            layer_product(double, n, fi, fo, inp, W, out)
        if l == n_layers - 1:
            break
        rate = drop[l] if mode == layer.TRAIN else 0.0
        call_layer(hidden, mode, out, at(derivs, block), at(params, offsets[INTERCEPT, l] * size),
                   n, fo, act_param, rate, seed, row0, col0, 0.0)
        inp = out
        col0 += fo
    return offsets[BLOCK, n_layers - 1]


@jit_inline
def backward_layers(grad, deltas, acts, derivs, x, csr, src, n, offsets, params, units, size,
                    hidden, beta):
    """Backpropagate the output delta, which the head wrote into
    ``deltas``' last block together with the output intercept gradient,
    through the layers a training ``forward_layers`` left in ``acts`` and
    ``derivs``, and write the raw gradient sums into ``grad``: ``a.T @
    delta`` for the weights and ``delta.sum(0)`` for the intercepts, no
    penalty, no normalisation. ``beta`` 0 overwrites ``grad``, 1 adds to
    it (the chunks of a full batch). The input rows and ``offsets``: as
    for ``forward_layers``."""
    double = size == 8
    n_layers = units.shape[0] - 1
    for l in range(n_layers - 1, -1, -1):
        fi = units[l]
        fo = units[l + 1]
        dout = at(deltas, offsets[BLOCK, l] * size)
        dW = at(grad, offsets[COEF, l] * size)
        if l == 0:
            input_weight_grad(double, x, csr, src, n, fi, fo, dout, beta, dW)
            break
        below = offsets[BLOCK, l - 1] * size  # layer l's input block
        layer_weight_grad(double, n, fi, fo, at(acts, below), dout, beta, dW)
        dinp = at(deltas, below)
        layer_input_grad(double, n, fi, fo, dout, at(params, offsets[COEF, l] * size), dinp)
        # the derivative, and the layer below's intercept gradient
        call_layer(hidden, layer.BACKWARD, dinp, at(derivs, below),
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
                              hidden, act_param, layer.TRAIN, no_drop, 0, 0)
        beta = 0.0 if start == 0 else 1.0
        data_loss += call_head(head, head_mode.TRAIN, at(acts, last * size), at(params, out_bias),
                               at(Y, start * n_out * size), at(SW, start * size),
                               at(deltas, last * size), at(grad, out_bias), nb, n_out,
                               loss_param, delta_scale, beta, at(sw_chunk, 0))
        sw_sum += sw_chunk[0]
        backward_layers(grad, deltas, acts, derivs, x, csr, src, nb, offsets, params, units,
                        size, hidden, beta)
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
                              0)
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
                          params, units, size, hidden, act_param, mode, drop, seed, row0)
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
                    offsets, params, units, size, hidden, 0.0)


def forward_pass(acts, derivs, x, params, units, max_rows, hidden_code, act_param, out_code, drop,
                 seed, row0):
    """Forward the rows of ``x`` (n_rows <= max_rows) through the network
    into the flat buffer ``acts`` (training, with derivatives into
    ``derivs``, when ``derivs`` has entries); returns the output layer's
    view."""
    dtype = params.dtype.type
    train = derivs.shape[0] > 0
    n, n_out = x.shape[0], int(units[-1])
    last = run(lambda: named(dtype, "forward pass"), forward_pass_kernel, (),
               [layer_spec(hidden_code, dtype, drop), head_spec(out_code, dtype)],
               lambda hidden, head: (hidden, head, params.itemsize, as_bytes(acts),
                                     as_bytes(derivs if train else acts), input_bytes(x), n,
                                     layout_of(units, max_rows), input_bytes(params), units,
                                     float(act_param), train, drop, int(seed), int(row0),
                                     NO_INDEX))
    return acts[last : last + n * n_out].reshape(n, n_out)


def backward_pass(grad, deltas, acts, derivs, x, params, units, max_rows):
    """Raw gradient sums into ``grad`` from the output delta in ``deltas``'
    last block, after a training forward_pass of the rows of ``x`` (the
    backward part of every layer component is the same)."""
    dtype = params.dtype.type
    run(lambda: named(dtype, "backward pass"), backward_pass_kernel, (),
        [layer_spec(codes.IDENTITY, dtype)],
        lambda hidden: (hidden, params.itemsize, as_bytes(grad), as_bytes(deltas),
                        as_bytes(acts), as_bytes(derivs), input_bytes(x), x.shape[0],
                        layout_of(units, max_rows), input_bytes(params), units, NO_INDEX))


def loss_grad(grad, params, Xd, data, indices, indptr, is_sparse, Y, SW, units, hidden_code,
              act_param, out_code, loss_code, loss_param, alpha, delta_scale, chunk, work=None):
    """Full-batch loss and gradient (see ``loss_grad_kernel``); its step
    component (Adam's, whichever) only finishes the gradient. ``work``: a
    dict the caller keeps across calls on the same data, to reuse the
    scratch buffers (see ``kernels.scratch``)."""
    dtype = params.dtype.type
    max_rows = max(1, min(int(chunk), SW.shape[0]))
    width = int(units[1:].sum())
    direct = in_place(data, indptr, is_sparse, max_rows, int(units[0]))
    n_x = max_rows * int(units[0]) if is_sparse and not direct else 0

    def make():
        return (*scratch(dtype, *[max_rows * width] * 3, n_x, raw=True),
                *scratch(np.int64, max_rows), np.empty(1), np.zeros(units.shape[0] - 1),
                layout_of(units, max_rows))

    acts, derivs, deltas, xb, rows, sw_chunk, no_drop, offsets = kept(
        work, (max_rows, tuple(int(u) for u in units), n_x, np.dtype(dtype).char), make)
    return run(
        lambda: named(dtype, "lbfgs loss and gradient kernels", hidden_code, out_code,
                      loss_code),
        loss_grad_kernel, (indices.dtype.char, direct),
        [layer_spec(hidden_code, dtype), head_spec(out_code, dtype, loss_code),
         step_spec(codes.ADAM, dtype), *csr_specs(dtype, indices, direct)],
        lambda hidden, head, step, csr=None: (
            hidden, head, step, csr, params.itemsize, as_bytes(grad), as_bytes(params),
            *x_bytes(Xd, data, indices, indptr, is_sparse), input_bytes(Y), input_bytes(SW),
            units, offsets, float(act_param), float(loss_param), float(alpha),
            float(delta_scale), int(chunk), acts, derivs, deltas, xb, rows, sw_chunk, no_drop))


def predict(out, Xd, data, indices, indptr, is_sparse, params, units, hidden_code, act_param,
            out_code, chunk):
    """out[:] = the network's output for X, in chunks of ``chunk`` rows."""
    dtype = params.dtype.type
    max_rows = max(1, min(int(chunk), out.shape[0]))
    direct = in_place(data, indptr, is_sparse, max_rows, int(units[0]))
    acts, xb = scratch(dtype, max_rows * int(units[1:].sum()),
                       max_rows * int(units[0]) if is_sparse and not direct else 0, raw=True)
    run(lambda: named(dtype, "prediction kernels", hidden_code, out_code),
        predict_kernel, (indices.dtype.char, direct),
        [layer_spec(hidden_code, dtype), head_spec(out_code, dtype),
         *csr_specs(dtype, indices, direct)],
        lambda hidden, head, csr=None: (hidden, head, csr, params.itemsize, as_bytes(out),
                                        *x_bytes(Xd, data, indices, indptr, is_sparse),
                                        input_bytes(params), units, layout_of(units, max_rows),
                                        float(act_param), int(chunk), acts, xb,
                                        *scratch(np.int64, max_rows), np.zeros(0)))


def layout_of(units, max_rows):
    """The drivers' ``offsets`` argument: ``kernels.layout.offsets``,
    read-only (one specialization whoever made it)."""
    return read_only(layout.offsets(units, max_rows))


def coef_sqnorm(params, units):
    """Sum of squared weights (intercepts excluded), for the L2 penalty."""
    n_coef = layout.n_coef_and_width(units)[0]
    return step_call(codes.ADAM, SQNORM, params, params, params, params, n_coef)
