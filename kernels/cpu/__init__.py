"""CPU kernels (see DESIGN.md, "Kernel conventions").

The functions here take the network's codes (``kernels.codes``) and typed
arrays, as their CUDA twins do. They pick the compiled components for
those codes and the arrays' dtype (a hidden layer, the head, the
optimizer step; see ``_jit.py``) and run the drivers with them, handing
the float arrays over as bytes and the float scalars as Python floats
(the drivers serve both dtypes; the components read the scalars in their
own dtype).

Input the kernels only read (X, y, sample weights) reaches them as
read-only views: numba types a read-only array apart from a writable one,
and this way one compiled driver serves both.
"""

import numba
import numpy as np

from .. import codes
from ..scratch import kept
from . import _cache, _direct, epochs, network
from . import activations as layer
from . import losses as head_mode
from . import optimizers as step_mode
from .activations import dropout_forward, layer_component, layer_name
from .losses import head_component, head_name
from .network import n_params
from .optimizers import adam_lr, own_lines, step_component, step_name
from .sparse import csr_component, csr_name

__all__ = [
    "activation_backward",
    "activation_backward_sum",
    "activation_forward",
    "adam_lr",
    "adam_step",
    "adam_step_raw",
    "backward_pass",
    "bias_activation_forward",
    "coef_sqnorm",
    "dense_backward",
    "dense_forward",
    "dropout_forward",
    "finish_grad",
    "forward_pass",
    "gather_rows",
    "loss_grad",
    "loss_sum",
    "minibatch_epoch",
    "n_params",
    "output_delta",
    "own_lines",
    "predict",
    "sample_epoch",
    "sgd_step",
    "sgd_step_raw",
]

#: The output activation each loss is paired with (its canonical link).
OUTPUT_OF_LOSS = {
    codes.SQUARED_ERROR: codes.IDENTITY,
    codes.POISSON: codes.EXP,
    codes.LOG_LOSS: codes.SOFTMAX,
    codes.BINARY_LOG_LOSS: codes.LOGISTIC,
    codes.ABSOLUTE_ERROR: codes.IDENTITY,
    codes.HUBER: codes.IDENTITY,
}
#: A loss for each output activation, for heads that only activate (in
#: prediction the loss is not used).
LOSS_OF_OUTPUT = {codes.IDENTITY: codes.SQUARED_ERROR, codes.EXP: codes.POISSON,
                  codes.SOFTMAX: codes.LOG_LOSS, codes.LOGISTIC: codes.BINARY_LOG_LOSS}

_ACTIVATION_NAMES = {v: k for k, v in codes.ACTIVATIONS.items()}
_LOSS_NAMES = {v: k for k, v in codes.LOSSES.items()}
_SOLVER_NAMES = {v: k for k, v in codes.SOLVERS.items()}


def read_only(a):
    """``a`` as a read-only view (no copy)."""
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view


def as_bytes(a):
    """The bytes of the C-contiguous array ``a`` (a view, read-only if ``a``
    is)."""
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


def scratch(dtype, *counts, raw=False):
    """Uninitialised arrays of ``counts`` entries of ``dtype`` (their bytes
    when ``raw``, for the drivers that serve both float dtypes), cut from
    one allocation, each starting on a 64-byte line: the drivers' scratch.
    (The drivers allocate nothing themselves: an allocation in compiled
    code adds 0.15-0.2 s to a driver's compile.)"""
    dtype = np.dtype(dtype)
    item = dtype.itemsize
    sizes = [-(-c * item // 64) * 64 for c in counts]
    buf = np.empty(sum(sizes) + 64, dtype=np.uint8)
    start = -buf.ctypes.data % 64
    parts = []
    for c, size in zip(counts, sizes):
        part = buf[start : start + c * item]
        parts.append(part if raw else part.view(dtype))
        start += size
    return parts


_NONE = read_only(np.empty(0, dtype=np.int64))


def _input_bytes(a):
    return read_only(as_bytes(a))


def _x_bytes(Xd, data, indices, indptr, is_sparse):
    return (_input_bytes(Xd), _input_bytes(data), read_only(indices), read_only(indptr),
            bool(is_sparse))


#: Sparse X feeds the first layer in place (``network.input_product``)
#: where at most this share of its entries is stored, or where a dense
#: block of the rows the driver takes at once would pass DENSE_BLOCK_BYTES;
#: denser X is gathered dense for BLAS, which is faster there. (2-core
#: EPYC, 5000 rows, 100 hidden units: in place, adam 1.4-4.5x and lbfgs
#: 1-5x faster from 1% to 10% density; at 20% adam 1.5x faster and lbfgs
#: even; at 30% lbfgs 15-45% slower.)
IN_PLACE_DENSITY = 0.2
DENSE_BLOCK_BYTES = 16 * 2**20


def _in_place(data, indptr, is_sparse, block_rows, n_in):
    """Whether sparse X (``data``, ``indptr``), taken ``block_rows`` rows of
    ``n_in`` features at a time, is read in place rather than gathered
    dense."""
    n_rows = indptr.shape[0] - 1
    return bool(is_sparse) and (
        data.shape[0] <= IN_PLACE_DENSITY * n_rows * n_in
        or block_rows * n_in * data.itemsize > DENSE_BLOCK_BYTES)


# The components a call needs, as (factory, its unit name's function, the
# factory's arguments).

def _hidden(code, dtype, drop=None):
    key = (int(code), np.dtype(dtype).type, bool(drop is not None and drop.any()))
    return layer_component, layer_name, key


def _head(out_code, dtype, loss_code=None):
    out_code = int(out_code)
    key = (out_code, int(LOSS_OF_OUTPUT[out_code] if loss_code is None else loss_code),
           np.dtype(dtype).type)
    return head_component, head_name, key


def _step(solver, dtype):
    key = (int(solver), np.dtype(dtype).type)
    return step_component, step_name, key


def _csr(dtype, indices, in_place):
    """The first layer over sparse rows read in place, where they are
    (else none: the drivers get None, see ``network.input_product``)."""
    if not in_place:
        return []
    return [(csr_component, csr_name, (np.dtype(dtype).type, indices.dtype.type))]


#: (driver, driver key, the components' keys) -> the components' addresses,
#: for calls whose units are all ready: an epoch of a small network takes
#: about a millisecond, so the calls after the first skip the rest.
_ready_calls = {}


def _run(what, driver, driver_key, specs, make_args):
    """Call ``driver(*make_args(*addresses))``, the addresses those of the
    components of ``specs`` (see _hidden, _head, _step), first readying
    every unit the call needs (see ``_cache.ensure``): the components, and
    the driver's specialization for these arguments, which ``driver_key``
    (a tuple of what sets the arguments' numba types, beyond what the
    wrappers fix) tells apart. ``what()`` says in words what they are."""
    call = (driver, driver_key, *(k for _, _, k in specs))
    addresses = _ready_calls.get(call)
    if addresses is not None:
        return driver(*make_args(*addresses))
    units = [(name(*k), name(*k), "component", lambda f=f, k=k: f(*k)) for f, name, k in specs]
    qualname = getattr(driver, "py_func", driver).__qualname__
    made = []

    def args():
        return make_args(*(f(*k).address for f, _, k in specs))

    def compile_driver():
        made.append(args())
        if hasattr(driver, "compile"):  # not with NUMBA_DISABLE_JIT=1
            driver.compile(tuple(numba.typeof(a) for a in made[0]))

    units.append(((qualname, *driver_key), qualname, "driver", compile_driver))
    _cache.ensure(units, what)
    _ready_calls[call] = tuple(f(*k).address for f, _, k in specs)
    return driver(*(made[0] if made else args()))


def _named(dtype, what, hidden_code=None, out_code=None, loss_code=None, solver=None):
    """In words: the kernels ``what`` for ``dtype`` (and the network's
    codes given), for the compile notice."""
    parts = []
    if hidden_code is not None:
        parts.append(f"{_ACTIVATION_NAMES[int(hidden_code)]} layers")
    if out_code is not None:
        parts.append(f"{_ACTIVATION_NAMES[int(out_code)]} output")
    if loss_code is not None:
        parts.append(_LOSS_NAMES[int(loss_code)])
    if solver is not None:
        parts.append(_SOLVER_NAMES[int(solver)])
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"the {np.dtype(dtype).name} {what}{detail}"


def _epoch(driver, kind, params, state1, state2, Xd, data, indices, indptr, is_sparse, Y, SW,
           order, batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
           alpha, drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    dtype = params.dtype.type
    typed = driver is epochs.sample_epoch  # compiled per dtype; the mini-batch one serves both
    rows = int(batch_size)
    in_place = False
    if not typed:
        in_place = _in_place(data, indptr, is_sparse, rows, int(units[0]))

    def args(hidden, head, step, csr=None):
        n_x = int(units[0]) if typed else (0 if in_place else rows * int(units[0]))
        work = scratch(dtype, *[rows * int(units[1:].sum())] * 3, params.shape[0], n_x,
                       *(() if typed else (rows * int(units[-1]), rows)), raw=not typed)
        if typed:
            arrays = (params, state1, state2, read_only(Xd), read_only(data), read_only(indices),
                      read_only(indptr), bool(is_sparse), read_only(Y), read_only(SW))
        else:
            arrays = (csr, params.itemsize, as_bytes(params), as_bytes(state1),
                      as_bytes(state2), *_x_bytes(Xd, data, indices, indptr, is_sparse),
                      _input_bytes(Y), _input_bytes(SW))
        return (hidden, head, step, *arrays, order, rows, units, float(act_param),
                float(loss_param), float(alpha), drop, int(seed), solver == codes.ADAM,
                float(lr), float(momentum), bool(nesterov), float(beta1), float(beta2),
                float(eps), int(t), *work, np.empty(1))

    return _run(
        lambda: _named(dtype, f"{kind} training kernels", hidden_code, out_code, loss_code,
                       solver),
        driver, (indices.dtype.char, np.dtype(dtype).char if typed else "", in_place),
        [_hidden(hidden_code, dtype, drop), _head(out_code, dtype, loss_code),
         _step(solver, dtype), *_csr(dtype, indices, in_place)], args)


def minibatch_epoch(params, state1, state2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                    batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                    alpha, drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    """One epoch of mini-batches (see ``epochs.py`` for the arguments);
    returns ``(sum of batch_loss * batch_rows, adam t)``."""
    return _epoch(epochs.minibatch_epoch, "mini-batch", params, state1, state2, Xd, data,
                  indices, indptr, is_sparse, Y, SW, order, batch_size, units, hidden_code,
                  act_param, out_code, loss_code, loss_param, alpha, drop, seed, solver, lr,
                  momentum, nesterov, beta1, beta2, eps, t)


def sample_epoch(params, state1, state2, Xd, data, indices, indptr, is_sparse, Y, SW, order,
                 batch_size, units, hidden_code, act_param, out_code, loss_code, loss_param,
                 alpha, drop, seed, solver, lr, momentum, nesterov, beta1, beta2, eps, t):
    """One epoch of per-sample steps (``batch_size`` 1), as minibatch_epoch."""
    return _epoch(epochs.sample_epoch, "per-sample", params, state1, state2, Xd, data, indices,
                  indptr, is_sparse, Y, SW, order, batch_size, units, hidden_code, act_param,
                  out_code, loss_code, loss_param, alpha, drop, seed, solver, lr, momentum,
                  nesterov, beta1, beta2, eps, t)


def loss_grad(grad, params, Xd, data, indices, indptr, is_sparse, Y, SW, units, hidden_code,
              act_param, out_code, loss_code, loss_param, alpha, delta_scale, chunk, work=None):
    """Full-batch loss and gradient (see ``network.loss_grad``); its step
    component (Adam's, whichever) only finishes the gradient. ``work``: a
    dict the caller keeps across calls on the same data, to reuse the
    scratch buffers (see ``kernels.scratch``)."""
    dtype = params.dtype.type
    cap = max(1, min(int(chunk), SW.shape[0]))
    width = int(units[1:].sum())
    in_place = _in_place(data, indptr, is_sparse, cap, int(units[0]))
    n_x = cap * int(units[0]) if is_sparse and not in_place else 0

    def make():
        return (*scratch(dtype, *[cap * width] * 3, n_x, raw=True),
                *scratch(np.int64, cap), np.empty(1), np.zeros(units.shape[0] - 1))

    acts, dacts, deltas, xb, rows, sw_chunk, no_drop = kept(
        work, (cap, width, n_x, np.dtype(dtype).char, units.shape[0]), make)
    return _run(
        lambda: _named(dtype, "lbfgs loss and gradient kernels", hidden_code, out_code,
                       loss_code),
        network.loss_grad, (indices.dtype.char, in_place),
        [_hidden(hidden_code, dtype), _head(out_code, dtype, loss_code), _step(codes.ADAM, dtype),
         *_csr(dtype, indices, in_place)],
        lambda hidden, head, step, csr=None: (
            hidden, head, step, csr, params.itemsize, as_bytes(grad), as_bytes(params),
            *_x_bytes(Xd, data, indices, indptr, is_sparse), _input_bytes(Y), _input_bytes(SW),
            units, float(act_param), float(loss_param), float(alpha), float(delta_scale),
            int(chunk), acts, dacts, deltas, xb, rows, sw_chunk, no_drop))


def predict(out, Xd, data, indices, indptr, is_sparse, params, units, hidden_code, act_param,
            out_code, chunk):
    """out[:] = the network's output for X, in chunks of ``chunk`` rows."""
    dtype = params.dtype.type
    cap = max(1, min(int(chunk), out.shape[0]))
    in_place = _in_place(data, indptr, is_sparse, cap, int(units[0]))
    acts, xb = scratch(dtype, cap * int(units[1:].sum()),
                       cap * int(units[0]) if is_sparse and not in_place else 0, raw=True)
    _run(lambda: _named(dtype, "prediction kernels", hidden_code, out_code),
         network.predict, (indices.dtype.char, in_place),
         [_hidden(hidden_code, dtype), _head(out_code, dtype), *_csr(dtype, indices, in_place)],
         lambda hidden, head, csr=None: (hidden, head, csr, params.itemsize, as_bytes(out),
                               *_x_bytes(Xd, data, indices, indptr, is_sparse),
                               _input_bytes(params), units, float(act_param),
                               int(chunk), acts, xb, *scratch(np.int64, cap), np.zeros(0)))


def forward_pass(acts, dacts, x, params, units, cap, hidden_code, act_param, out_code, drop,
                 seed, row0):
    """Forward the rows of ``x`` (n_rows <= cap) through the network into
    the flat buffer ``acts`` (training, with derivatives into ``dacts``,
    when ``dacts`` has entries); returns the output layer's view."""
    dtype = params.dtype.type
    train = dacts.shape[0] > 0
    n, n_out = x.shape[0], int(units[-1])
    last = _run(lambda: _named(dtype, "forward pass"), _direct.forward, (),
                [_hidden(hidden_code, dtype, drop), _head(out_code, dtype)],
                lambda hidden, head: (hidden, head, params.itemsize, as_bytes(acts),
                                      as_bytes(dacts if train else acts), _input_bytes(x), n,
                                      int(cap), _input_bytes(params), units, float(act_param),
                                      train, drop, int(seed), int(row0), _NONE))
    return acts[last : last + n * n_out].reshape(n, n_out)


def backward_pass(grad, deltas, acts, dacts, x, params, units, cap):
    """Raw gradient sums into ``grad`` from the output delta in ``deltas``'
    last block, after a training forward_pass of the rows of ``x`` (the
    backward part of every layer component is the same)."""
    dtype = params.dtype.type
    _run(lambda: _named(dtype, "backward pass"), _direct.backward, (),
         [_hidden(codes.IDENTITY, dtype)],
         lambda hidden: (hidden, params.itemsize, as_bytes(grad), as_bytes(deltas),
                         as_bytes(acts), as_bytes(dacts), _input_bytes(x), x.shape[0], int(cap),
                         _input_bytes(params), units, _NONE))


def _head_call(mode, out_code, loss_code, z, b, y, sw, delta, scale, loss_param):
    """The head of ``out_code`` and ``loss_code`` in ``mode`` on whole
    arrays: returns its loss."""
    dtype = z.dtype.type
    n, m = z.shape
    return _run(
        lambda: _named(dtype, "loss kernels", loss_code=loss_code), _direct.head,
        (), [_head(out_code, dtype, loss_code)],
        lambda head: (head, mode, as_bytes(z), _input_bytes(b),
                      _input_bytes(np.asarray(y, dtype=dtype)),
                      _input_bytes(np.asarray(sw, dtype=dtype)), as_bytes(delta),
                      as_bytes(z[:0]), n, m, float(loss_param), float(scale), 0.0, np.empty(1)))


def loss_sum(out, y, sw, loss_code, loss_param):
    """The weighted sum over rows of the loss ``loss_code`` of the network
    outputs ``out`` (n, n_outputs) for targets ``y``, weights ``sw``
    (float64; see ``losses.head_component``)."""
    out = np.ascontiguousarray(out)
    return _head_call(head_mode.LOSS, OUTPUT_OF_LOSS[int(loss_code)], loss_code, out, out[0, :0],
                      y, sw, out[:0], 1.0, loss_param)


def output_delta(delta, out, y, sw, scale, loss_code, loss_param):
    """The output layer's delta for the loss ``loss_code``, times ``scale``,
    into ``delta`` (see ``losses.head_component``)."""
    out = np.ascontiguousarray(out)
    _head_call(head_mode.DELTA, OUTPUT_OF_LOSS[int(loss_code)], loss_code, out, out[0, :0], y,
               sw, delta, scale, loss_param)


def _layer_call(mode, code, z, dz, b, param):
    dtype = z.dtype.type
    n, m = z.shape
    _run(lambda: _named(dtype, "layer kernels"), _direct.layer_call, (), [_hidden(code, dtype)],
         lambda hidden: (hidden, mode, as_bytes(z), as_bytes(dz), _input_bytes(b), n, m,
                         float(param), 0.0, 0, 0, 0, 0.0))


def bias_activation_forward(z, dz, b, code, param):
    """z = f(z + b) in place for the activation ``code``, and f'(z + b)
    into ``dz`` when it has rows (not for softmax and exp, output
    activations, which only the head has). z : (n_rows, n_units)."""
    if code in (codes.SOFTMAX, codes.EXP):
        _head_call(head_mode.PREDICT, code, LOSS_OF_OUTPUT[code], z, b, z[:0], z[:0, 0], z, 0.0,
                   0.0)
        return
    train = dz.shape[0] > 0
    _layer_call(layer.TRAIN if train else layer.PREDICT, code, z, dz if train else z, b, param)


def activation_forward(z, dz, code, param):
    """bias_activation_forward without a bias (the twin of the CUDA kernel)."""
    bias_activation_forward(z, dz, np.zeros(z.shape[1], dtype=z.dtype), code, param)


def activation_backward(delta, dz):
    """delta *= dz (the twin of the CUDA kernel; see activation_backward_sum)."""
    delta *= dz


def activation_backward_sum(delta, dz, col_sum):
    """delta *= dz, and ``col_sum = delta.sum(0)`` after it, in one pass: the
    backward pass below a hidden layer, the layer's intercept gradient
    with it. delta, dz : (n_rows, n_units); col_sum : (n_units,)."""
    _layer_call(layer.BACKWARD, codes.IDENTITY, delta, dz, col_sum, 0.0)


def gather_rows(xb, Xd, data, indices, indptr, is_sparse, rows):
    """Copy the rows ``rows`` of X (dense ``Xd``, or canonical CSR arrays)
    into the dense buffer ``xb[:len(rows)]``."""
    network.gather_rows(as_bytes(xb), *_x_bytes(Xd, data, indices, indptr, is_sparse), rows,
                        xb.shape[1] * xb.itemsize, xb.itemsize)


def _step_call(solver, mode, params, s1, s2, grad, n_coef, alpha=0.0, sw_sum=1.0, lr=0.0,
               momentum=0.0, nesterov=False, beta1=0.0, beta2=0.0, eps=0.0):
    """The step component of ``solver`` in ``mode`` on whole arrays; returns
    the weights' sum of squares."""
    dtype = params.dtype.type
    return _run(lambda: _named(dtype, "optimizer kernels"), _direct.step, (),
                [_step(solver, dtype)],
                lambda step: (step, mode, as_bytes(params), as_bytes(s1), as_bytes(s2),
                              as_bytes(grad), params.shape[0], int(n_coef), float(alpha),
                              float(sw_sum), float(lr), float(momentum), bool(nesterov),
                              float(beta1), float(beta2), float(eps), True))


def sgd_step_raw(params, velocity, grad, n_coef, alpha, sw_sum, lr, momentum, nesterov):
    """SGD on raw gradient sums (see ``optimizers.step_component``)."""
    _step_call(codes.SGD, step_mode.STEP, params, velocity, velocity, grad, n_coef, alpha, sw_sum,
               lr, momentum, nesterov)


def adam_step_raw(params, m, v, grad, n_coef, alpha, sw_sum, lr, beta1, beta2, eps):
    """Adam on raw gradient sums (see ``optimizers.step_component``)."""
    _step_call(codes.ADAM, step_mode.STEP, params, m, v, grad, n_coef, alpha, sw_sum, lr,
               beta1=beta1, beta2=beta2, eps=eps)


def sgd_step(params, velocity, grad, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum on a finished gradient."""
    sgd_step_raw(params, velocity, grad, 0, 0.0, 1.0, lr, momentum, nesterov)


def adam_step(params, m, v, grad, lr, beta1, beta2, eps):
    """One Adam step with the bias-corrected step size ``lr`` (adam_lr) on
    a finished gradient."""
    adam_step_raw(params, m, v, grad, 0, 0.0, 1.0, lr, beta1, beta2, eps)


def finish_grad(grad, params, n_coef, alpha, sw_sum):
    """Raw gradient sums into scikit-learn's gradient, in place: weights
    (the first ``n_coef``) (sum + alpha * W) / sw_sum, intercepts sum /
    sw_sum."""
    _step_call(codes.ADAM, step_mode.FINISH, params, params, params, grad, n_coef, alpha, sw_sum)


def coef_sqnorm(params, units):
    """Sum of squared weights (intercepts excluded), for the L2 penalty."""
    n_coef = n_params(units) - int(np.sum(units[1:]))
    return _step_call(codes.ADAM, step_mode.SQNORM, params, params, params, params, n_coef)


def dense_forward(out, inp, W, b):
    """out = inp @ W + b for one dense layer (the twin of the CUDA kernel;
    the passes run their products through the same BLAS)."""
    np.dot(inp, W, out)
    out += b


def dense_backward(dinp, dW, db, dout, inp, W):
    """dW = inp.T @ dout, db = dout summed over rows, dinp = dout @ W.T
    (skipped when ``dinp`` has no rows): one dense layer's gradients (the
    twin of the CUDA kernel)."""
    np.dot(inp.T, dout, dW)
    db[:] = dout.sum(axis=0)
    if dinp.shape[0] > 0:
        np.dot(dout, W.T, dinp)
