"""The host functions of the whole-network passes and of the full-batch
drivers (the loss and gradient for L-BFGS, prediction): twins of
``kernels.cuda.network``; the drivers are ``compiled/network.py``'s.

The buffers' layout is ``kernels.layout``'s; the drivers take its
``offsets`` for the batch size they run.
"""

import numpy as np

from .. import codes, layout
from ..scratch import kept
from ._calls import NO_INDEX, as_bytes, named, offsets, run, scratch, x_bytes
from .activations import layer_spec
from .losses import head_spec
from .optimizers import SQNORM, step_call, step_spec
from .sparse import csr_specs, in_place

COEF, INTERCEPT, BLOCK = layout.COEF, layout.INTERCEPT, layout.BLOCK


def forward_pass(acts, derivs, x, params, units, max_rows, hidden_code, act_param, out_code, drop,
                 seed, row0):
    """Forward the rows of ``x`` (n_rows <= max_rows) through the network
    into the flat buffer ``acts`` (training, with derivatives into
    ``derivs``, when ``derivs`` has entries); returns the output layer's
    view."""
    dtype = params.dtype.type
    train = derivs.shape[0] > 0
    n, n_out = x.shape[0], int(units[-1])
    last = run(lambda: named(dtype, "forward pass"), ("network", "forward_pass_kernel"), (),
               [layer_spec(hidden_code, dtype, drop), head_spec(out_code, dtype)],
               lambda hidden, head: (hidden, head, params.itemsize, as_bytes(acts),
                                     as_bytes(derivs if train else acts), as_bytes(x), n,
                                     offsets(units, max_rows), as_bytes(params), units,
                                     float(act_param), train, drop, int(seed), int(row0),
                                     NO_INDEX))
    return acts[last : last + n * n_out].reshape(n, n_out)


def backward_pass(grad, deltas, acts, derivs, x, params, units, max_rows):
    """Raw gradient sums into ``grad`` from the output delta in ``deltas``'
    last block, after a training forward_pass of the rows of ``x`` (the
    backward part of every layer component is the same)."""
    dtype = params.dtype.type
    run(lambda: named(dtype, "backward pass"), ("network", "backward_pass_kernel"), (),
        [layer_spec(codes.IDENTITY, dtype)],
        lambda hidden: (hidden, params.itemsize, as_bytes(grad), as_bytes(deltas),
                        as_bytes(acts), as_bytes(derivs), as_bytes(x), x.shape[0],
                        offsets(units, max_rows), as_bytes(params), units, NO_INDEX))


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
                *scratch(np.int64, max_rows), np.empty(1), np.zeros(units.shape[0] - 1))

    acts, derivs, deltas, xb, rows, sw_chunk, no_drop = kept(
        work, (max_rows, tuple(int(u) for u in units), n_x, np.dtype(dtype).char), make)
    return run(
        lambda: named(dtype, "lbfgs loss and gradient kernels", hidden_code, out_code,
                      loss_code),
        ("network", "loss_grad_kernel"), (indices.dtype.char, direct),
        [layer_spec(hidden_code, dtype), head_spec(out_code, dtype, loss_code),
         step_spec(codes.ADAM, dtype), *csr_specs(dtype, indices, direct)],
        lambda hidden, head, step, csr=None: (
            hidden, head, step, csr, params.itemsize, as_bytes(grad), as_bytes(params),
            *x_bytes(Xd, data, indices, indptr, is_sparse), as_bytes(Y), as_bytes(SW),
            units, offsets(units, max_rows), float(act_param), float(loss_param), float(alpha),
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
        ("network", "predict_kernel"), (indices.dtype.char, direct),
        [layer_spec(hidden_code, dtype), head_spec(out_code, dtype),
         *csr_specs(dtype, indices, direct)],
        lambda hidden, head, csr=None: (hidden, head, csr, params.itemsize, as_bytes(out),
                                        *x_bytes(Xd, data, indices, indptr, is_sparse),
                                        as_bytes(params), units, offsets(units, max_rows),
                                        float(act_param), int(chunk), acts, xb,
                                        *scratch(np.int64, max_rows), np.zeros(0)))


def coef_sqnorm(params, units):
    """Sum of squared weights (intercepts excluded), for the L2 penalty."""
    n_coef = layout.n_coef_and_width(units)[0]
    return step_call(codes.ADAM, SQNORM, params, params, params, params, n_coef)
