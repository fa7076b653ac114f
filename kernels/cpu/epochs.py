"""One training epoch per call: the hot path of ``fit`` for sgd and adam;
the drivers and their host functions (twins of ``kernels.cuda.epochs``).

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
row, which keep a small network in L1), compiled per dtype. Neither
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
(float64, 1).
"""

import numpy as np

from .. import codes
from ._calls import as_bytes, input_bytes, named, read_only, run, scratch, x_bytes
from .activations import layer_spec
from .losses import head_spec
from .network import layout_of
from .optimizers import step_spec
from .sparse import csr_specs, in_place


_MINIBATCH = ("epochs", "minibatch_epoch_kernel")
_SAMPLE = ("epochs", "sample_epoch_kernel")


def _epoch(kernel, kind, params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW,
           order, batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
           alpha, drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    dtype = params.dtype.type
    typed = kernel == _SAMPLE  # compiled per dtype; the mini-batch one serves both
    rows = int(batch_size)
    direct = False
    if not typed:
        direct = in_place(data, indptr, is_sparse, rows, int(units[0]))

    def args(hidden, head, step, csr=None):
        n_x = int(units[0]) if typed else (0 if direct else rows * int(units[0]))
        work = scratch(dtype, *[rows * int(units[1:].sum())] * 3, params.shape[0], n_x,
                       *(() if typed else (rows * int(units[-1]), rows)), raw=not typed)
        if typed:
            arrays = (params, moment1, moment2, read_only(Xd), read_only(data),
                      read_only(indices), read_only(indptr), bool(is_sparse), read_only(Y),
                      read_only(SW))
        else:
            arrays = (csr, params.itemsize, as_bytes(params), as_bytes(moment1),
                      as_bytes(moment2), *x_bytes(Xd, data, indices, indptr, is_sparse),
                      input_bytes(Y), input_bytes(SW))
        return (hidden, head, step, *arrays, order, rows, units, layout_of(units, rows),
                float(act_param),
                float(loss_param), float(alpha), drop, int(seed), solver == codes.ADAM,
                float(lr), float(momentum), bool(nesterov), float(beta1), float(beta2),
                float(eps), int(t), *work, np.empty(1))

    return run(
        lambda: named(dtype, f"{kind} training kernels", hidden_code, out_code, loss_code,
                      solver),
        kernel, (indices.dtype.char, np.dtype(dtype).char if typed else "", direct),
        [layer_spec(hidden_code, dtype, drop), head_spec(out_code, dtype, loss_code),
         step_spec(solver, dtype), *csr_specs(dtype, indices, direct)], args)


def minibatch_epoch(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                    batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                    alpha, drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    """One epoch of mini-batches (see the module's docstring for the
    arguments); returns ``(sum of batch_loss * batch_rows, adam t)``."""
    return _epoch(_MINIBATCH, "mini-batch", params, moment1, moment2, Xd, data,
                  indices, indptr, is_sparse, Y, SW, order, batch_size, units, hidden_code,
                  act_param, out_code, loss_code, loss_param, alpha, drop, seed, solver, lr,
                  momentum, nesterov, beta1, beta2, eps, t)


def sample_epoch(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                 batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                 alpha, drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    """One epoch of per-sample steps (``batch_size`` 1), as minibatch_epoch."""
    return _epoch(_SAMPLE, "per-sample", params, moment1, moment2, Xd, data, indices,
                  indptr, is_sparse, Y, SW, order, batch_size, units, hidden_code, act_param,
                  out_code, loss_code, loss_param, alpha, drop, seed, solver, lr, momentum,
                  nesterov, beta1, beta2, eps, t)
