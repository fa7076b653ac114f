"""One training epoch per call, the hot path of ``fit`` for sgd and adam:
the host functions (twins of ``kernels.cuda.epochs``) that make the
scratch and the layout and run the two drivers of ``compiled/epochs.py``
(whose docstring says what the arguments are, and what the drivers do).
A fit takes its epochs from ``minibatch_epochs`` or ``sample_epochs``,
which make all that once (see ``_calls.bind``); ``minibatch_epoch`` and
``sample_epoch`` run one epoch.
"""

import numpy as np

from .. import codes
from . import _pool
from ._calls import as_bytes, bind, named, offsets, scratch, x_bytes
from .activations import layer_spec
from .losses import head_spec
from .optimizers import step_spec
from .sparse import csr_specs, in_place


_MINIBATCH = ("epochs", "minibatch_epoch_kernel")
_SAMPLE = ("epochs", "sample_epoch_kernel")
#: The mini-batch driver's workers' loop (``compiled/pool.py``).
_SERVE_SPEC = (("pool", "serve_component"), lambda: "pool_serve", ())
#: Per-sample fits of networks with at most this many hidden layers run a
#: driver compiled for their shape (``compiled/epochs.py``'s ``SHAPE``),
#: once it is made: until then, the driver made for every shape, while a
#: helper process compiles the shape's (``_calls.bind``'s ``fallback``).
#: Deeper networks, and those without a hidden layer, always run the
#: driver made for every shape.
SHAPED_LAYERS = 3


def shaped(units):
    """Whether a network of widths ``units`` (inputs to outputs) has
    per-sample drivers made for its shape (``SHAPED_LAYERS``)."""
    return 3 <= len(units) <= SHAPED_LAYERS + 2


def _epochs(kernel, kind, params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW,
            order, batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
            alpha, drop, solver, momentum, nesterov, beta1, beta2, eps):
    dtype = params.dtype.type
    typed = kernel == _SAMPLE  # compiled per dtype; the mini-batch one serves both
    fallback = None  # the driver made for every shape, run until this shape's is made
    if typed and shaped(units):
        table = offsets(units, int(batch_size))
        shape = (tuple(int(u) for u in units), tuple(tuple(int(v) for v in row) for row in table))
        kernel, fallback = (*kernel, (("SHAPE", shape),)), kernel
    rows = int(batch_size)
    direct = False
    if not typed:
        direct = in_place(data, indptr, is_sparse, rows, int(units[0]))
    changing = []  # the positions of the seed, lr, t and nw: what each epoch sets
    serve = []  # the workers' loop, for the mini-batch driver

    def args(hidden, head, step, *more):
        if not typed:
            serve[:] = more[:1]
        csr = None if typed or not more[1:] else more[1]
        n_x = int(units[0]) if typed else (0 if direct else rows * int(units[0]))
        work = scratch(dtype, *[rows * int(units[1:].sum())] * 3, params.shape[0], n_x,
                       *(() if typed else (rows * int(units[-1]), rows)), raw=not typed)
        # the team's workers' intercept sums (compiled/pool.py)
        part = scratch(dtype, (_pool.MAX_THREADS - 1) * int(units[1:-1].max(initial=1)),
                       raw=not typed)
        if typed:
            arrays = (params, moment1, moment2, Xd, data, indices, indptr, bool(is_sparse), Y,
                      SW)
        else:
            arrays = (csr, params.itemsize, as_bytes(params), as_bytes(moment1),
                      as_bytes(moment2), *x_bytes(Xd, data, indices, indptr, is_sparse),
                      as_bytes(Y), as_bytes(SW))
        a = [hidden, head, step, *arrays, order, rows, units, offsets(units, rows),
             float(act_param), float(loss_param), float(alpha), drop]
        changing[:] = [len(a)]
        a += [0, solver == codes.ADAM]
        changing.append(len(a))
        a += [0.0, float(momentum), bool(nesterov), float(beta1), float(beta2), float(eps)]
        changing.append(len(a))
        a += [0, *work, np.empty(1), *part, _pool.BOARD]
        changing.append(len(a))
        return (*a, 0, serve[0] if serve else 0)

    epoch = bind(
        lambda: named(dtype, f"{kind} training kernels", hidden_code, out_code, loss_code,
                      solver),
        kernel, (indices.dtype.char, np.dtype(dtype).char if typed else "", direct),
        [layer_spec(hidden_code, dtype, drop), head_spec(out_code, dtype, loss_code),
         step_spec(solver, dtype), *(() if typed else (_SERVE_SPEC,)),
         *csr_specs(dtype, indices, direct)], args, changing, fallback)
    if typed:
        return lambda seed, lr, t: epoch((int(seed), float(lr), int(t), 0))
    return lambda seed, lr, t: _pool.run(lambda nw: epoch((int(seed), float(lr), int(t), nw)),
                                         serve[0])


def minibatch_epochs(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                     batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                     alpha, drop, solver, momentum, nesterov, beta1, beta2, eps):
    """The epochs of one fit: ``epoch(seed, lr, t)`` runs ``minibatch_epoch``
    with these arguments (``order`` as it stands then: the fit shuffles it
    in place), the kernels readied and the arguments made once."""
    return _epochs(_MINIBATCH, "mini-batch", params, moment1, moment2, Xd, data, indices,
                   indptr, is_sparse, Y, SW, order, batch_size, units, hidden_code, act_param,
                   out_code, loss_code, loss_param, alpha, drop, solver, momentum, nesterov,
                   beta1, beta2, eps)


def sample_epochs(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                  batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                  alpha, drop, solver, momentum, nesterov, beta1, beta2, eps):
    """As minibatch_epochs, for ``sample_epoch``."""
    return _epochs(_SAMPLE, "per-sample", params, moment1, moment2, Xd, data, indices, indptr,
                   is_sparse, Y, SW, order, batch_size, units, hidden_code, act_param, out_code,
                   loss_code, loss_param, alpha, drop, solver, momentum, nesterov, beta1, beta2,
                   eps)


def minibatch_epoch(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                    batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                    alpha, drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    """One epoch of mini-batches (see the module's docstring for the
    arguments); returns ``(sum of batch_loss * batch_rows, adam t)``."""
    return minibatch_epochs(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y,
                            SW, order, batch_size, units, hidden_code, act_param, out_code,
                            loss_code, loss_param, alpha, drop, solver, momentum, nesterov,
                            beta1, beta2, eps)(seed, lr, t)


def sample_epoch(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                 batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                 alpha, drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    """One epoch of per-sample steps (``batch_size`` 1), as minibatch_epoch."""
    return sample_epochs(params, moment1, moment2, Xd, data, indices, indptr, is_sparse, Y, SW,
                         order, batch_size, units, hidden_code, act_param, out_code, loss_code,
                         loss_param, alpha, drop, solver, momentum, nesterov, beta1, beta2,
                         eps)(seed, lr, t)
