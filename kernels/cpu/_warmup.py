"""Every compiled unit a fit can meet, as small tasks that ready them.

A task is a tuple (picklable, for worker processes) naming one kernel
call; ``run`` makes the call on a few rows, which readies the units it
needs (see ``_cache.ensure``) from the cache or by compiling them. Between
them the tasks cover, for both float dtypes: the hidden layer of every
activation, with and without dropout; the head of every loss; the step of
both solvers; the mini-batch and per-sample epochs; the L-BFGS loss and
gradient; prediction; the validation loss; the first layer over sparse
rows read in place; on request, the per-sample epochs made for given
network shapes. Dense and sparse input share every driver (int32 CSR
indices; int64 ones, for matrices of 2**31 entries or more, compile on
first use).
"""

import time

import numpy as np

from .. import codes
from . import _cache

DTYPES = ("float64", "float32")

_HIDDEN = [codes.ACTIVATIONS[a] for a in ("relu", "identity", "logistic", "tanh", "elu",
                                          "softplus", "leaky_relu", "gelu", "silu")]
_HEADS = [(codes.SOFTMAX, codes.LOG_LOSS), (codes.LOGISTIC, codes.BINARY_LOG_LOSS),
          (codes.IDENTITY, codes.SQUARED_ERROR), (codes.IDENTITY, codes.ABSOLUTE_ERROR),
          (codes.IDENTITY, codes.HUBER), (codes.EXP, codes.POISSON)]


def tasks(dtypes=DTYPES, shapes=()):
    """The tasks, the costliest (the drivers) first: a worker pool that
    takes them in order starts every driver early. ``shapes``: networks
    (their widths, inputs to outputs, as tuples of ints) whose per-sample
    driver made for their shape (dense rows) is compiled too."""
    first, rest = [], []
    for dtype in dtypes:
        first += [("shape", dtype, tuple(units)) for units in shapes]
    for dtype in dtypes:
        first.append(("sample", dtype))
    first += [("minibatch", DTYPES[0]), ("loss_grad", DTYPES[0]), ("predict", DTYPES[0]),
              ("validation", DTYPES[0])]
    for dtype in dtypes:
        for hidden in _HIDDEN:
            for dropout in (False, True):
                rest.append(("layer", dtype, hidden, dropout))
        for head in _HEADS:
            rest.append(("head", dtype, *head))
        rest.append(("step", dtype, codes.SGD))
        rest.append(("csr", dtype))
    return first + rest


def _problem(dtype, out_code=codes.SOFTMAX, loss_code=codes.LOG_LOSS, sparse=False,
             units=(3, 4, 2)):
    """A few rows, their targets for the head, and a network of ``units``
    (3-4-2); with ``sparse``, X as CSR with 2 of its 15 entries stored
    (read in place; the 3-4-2 network only)."""
    dtype = np.dtype(dtype).type
    rng = np.random.default_rng(0)
    units = np.array(units, dtype=np.int64)
    n_out = int(units[-1])
    X = rng.standard_normal((5, int(units[0]))).astype(dtype)
    if out_code == codes.SOFTMAX:
        Y = np.eye(n_out, dtype=dtype)[np.arange(5) % n_out]
    else:
        Y = rng.uniform(0, 1, (5, n_out)).round().astype(dtype)
    params = rng.uniform(-0.5, 0.5, int(units[:-1] @ units[1:] + units[1:].sum())).astype(dtype)
    no_index = np.empty(0, dtype=np.int32)
    X_in = (X, np.empty(0, dtype=dtype), no_index, no_index, False)
    if sparse:
        X_in = (X[:0], np.array([1.0, 2.0], dtype=dtype), np.array([0, 2], dtype=np.int32),
                np.array([0, 1, 1, 2, 2, 2], dtype=np.int32), True)
    return units, X_in, Y, np.ones(5, dtype=dtype), params


def _epoch(kernel, dtype, hidden=codes.RELU, out_code=codes.SOFTMAX, loss_code=codes.LOG_LOSS,
           solver=codes.ADAM, dropout=False, batch_size=2, sparse=False, units=(3, 4, 2)):
    from . import minibatch_epoch, sample_epoch

    units, X_in, Y, SW, params = _problem(dtype, out_code, loss_code, sparse, units)
    f = np.dtype(dtype).type
    moment2 = np.zeros_like(params) if solver == codes.ADAM else np.zeros(0, dtype=f)
    drop = np.full(len(units) - 2, 0.5 if dropout else 0.0)
    kernel = sample_epoch if kernel == "sample" else minibatch_epoch
    kernel(params, np.zeros_like(params), moment2, *X_in, Y, SW, np.arange(5, dtype=np.int64),
           1 if kernel is sample_epoch else batch_size, units, hidden, f(0.01), out_code,
           loss_code, f(1.0), f(1e-4), drop, 1, solver, f(1e-3), f(0.9), True, f(0.9),
           f(0.999), f(1e-8), 0)


def _full_batch(kind, dtype, sparse=False):
    from . import loss_grad, predict

    units, X_in, Y, SW, params = _problem(dtype, sparse=sparse)
    f = np.dtype(dtype).type
    if kind == "loss_grad":
        loss_grad(np.empty_like(params), params, *X_in, Y, SW, units, codes.RELU, f(0.01),
                  codes.SOFTMAX, codes.LOG_LOSS, f(1.0), f(1e-4), f(1.0), 4)
    else:
        predict(np.empty((5, 2), dtype=params.dtype), *X_in, params, units, codes.RELU,
                f(0.01), codes.SOFTMAX, 4)


def describe(task):
    """``task`` in words."""
    names = {v: k for k, v in codes.ACTIVATIONS.items()}
    losses = {v: k for k, v in codes.LOSSES.items()}
    solvers = {v: k for k, v in codes.SOLVERS.items()}
    kind, dtype = task[0], task[1]
    if kind == "shape":
        return f"{dtype} per-sample epoch, {'-'.join(map(str, task[2]))}"
    if kind == "layer":
        return f"{dtype} {names[task[2]]} layer" + (" with dropout" if task[3] else "")
    if kind == "head":
        return f"{dtype} {names[task[2]]} output, {losses[task[3]]}"
    if kind == "step":
        return f"{dtype} {solvers[task[2]]} step"
    return {"sample": f"{dtype} per-sample epoch", "minibatch": "mini-batch epoch",
            "loss_grad": "lbfgs loss and gradient", "predict": "prediction",
            "validation": "validation loss",
            "csr": f"{dtype} first layer over sparse rows"}[kind]


def run(task):
    """Make the call of ``task``; returns (task, the units it compiled,
    seconds). The compile notice is for fits: a process that runs tasks
    prints none."""
    from . import loss_sum

    _cache.silence_notice()
    _cache.no_helper()
    kind, dtype = task[0], task[1]
    before = len(_cache.compiled_units())
    start = time.perf_counter()
    if kind in ("sample", "minibatch"):
        _epoch(kind, dtype)
    elif kind == "shape":  # the shape's driver, compiled here where a fit leaves it to a helper
        with _cache.background_here():
            _epoch("sample", dtype, units=task[2])
    elif kind == "layer":
        _epoch("minibatch", dtype, hidden=task[2], dropout=task[3])
    elif kind == "head":
        _epoch("minibatch", dtype, out_code=task[2], loss_code=task[3])
    elif kind == "step":
        _epoch("minibatch", dtype, solver=task[2])
    elif kind in ("loss_grad", "predict"):
        _full_batch(kind, dtype)
    elif kind == "csr":  # the drivers' in-place specializations and the CSR component
        _epoch("minibatch", dtype, sparse=True)
        _full_batch("loss_grad", dtype, sparse=True)
        _full_batch("predict", dtype, sparse=True)
    elif kind == "validation":
        units, X_in, Y, SW, params = _problem(dtype)
        loss_sum(np.full_like(Y, 0.5), Y, SW, codes.LOG_LOSS, Y.dtype.type(1.0))
    else:
        raise ValueError(f"unknown warm-up task {task!r}")
    return task, _cache.compiled_units()[before:], time.perf_counter() - start
