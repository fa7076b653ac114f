"""Drivers that run the passes or one component on whole arrays, from
Python: the validation loss, and the kernels the tests check one by one
(``kernels.cpu``'s functions). Like the training drivers they see the
float arrays as bytes, ``size`` bytes an entry (see ``network.py``)."""

from . import activations as layer
from . import losses as head_mode
from .activations import call_layer
from .losses import call_head
from .optimizers import call_step
from .pointers import at
from .network import backward_layers, forward_layers, n_coef_and_width
from ._jit import jit


@jit
def head(fn, mode, z, b, y, sw, delta, grad_b, n, m, param, scale, beta, sw_sum):
    """The head component ``fn`` in ``mode`` on whole arrays; returns its
    loss (and leaves the weights' sum in ``sw_sum``, float64 (1,))."""
    return call_head(fn, mode, at(z, 0), at(b, 0), at(y, 0), at(sw, 0), at(delta, 0),
                     at(grad_b, 0), n, m, param, scale, beta, at(sw_sum, 0))


@jit
def layer_call(fn, mode, z, dz, b, n, m, param, rate, seed, row0, col0, beta):
    """The layer component ``fn`` in ``mode`` on whole arrays."""
    call_layer(fn, mode, at(z, 0), at(dz, 0), at(b, 0), n, m, param, rate, seed, row0, col0, beta)


@jit
def step(fn, mode, params, s1, s2, grad, n, n_coef, alpha, sw_sum, lr, momentum, nesterov, beta1,
         beta2, eps, own):
    """The step component ``fn`` in ``mode`` on whole arrays; returns the
    weights' sum of squares."""
    return call_step(fn, mode, at(params, 0), at(s1, 0), at(s2, 0), at(grad, 0), n, n_coef, alpha,
                     sw_sum, lr, momentum, nesterov, beta1, beta2, eps, own)


@jit
def forward(hidden, head, size, acts, dacts, x, n, cap, params, units, act_param, train, drop,
            seed, row0, none):
    """The forward pass of the training drivers, the output activation
    included, on the n rows of dense ``x``; returns the output block's
    offset (in entries). ``none``: an empty int64 array."""
    n_coef, width = n_coef_and_width(units)
    n_out = units[units.shape[0] - 1]
    mode = layer.TRAIN if train else layer.PREDICT
    last = forward_layers(acts, dacts, at(x, 0), None, (x, none, none, none), n, cap,
                          params, units, n_coef, size, hidden, act_param, mode, drop, seed, row0)
    z = at(acts, last * size)
    call_head(head, head_mode.PREDICT, z, at(params, (n_coef + width - n_out) * size), z, z, z, z,
              n, n_out, 0.0, 0.0, 0.0, z)
    return last


@jit
def backward(hidden, size, grad, deltas, acts, dacts, x, n, cap, params, units, none):
    """The backward pass of the training drivers from the output delta in
    ``deltas``' last block: the output intercept gradient (which the
    drivers' head forms with the delta), then ``backward_layers``; ``x``
    dense, ``none`` an empty int64 array."""
    n_coef, width = n_coef_and_width(units)
    n_out = units[units.shape[0] - 1]
    last = cap * (width - n_out)
    call_layer(hidden, layer.BIAS, at(deltas, last * size), at(deltas, last * size),
               at(grad, (n_coef + width - n_out) * size), n, n_out, 0.0, 0.0, 0, 0, 0, 0.0)
    backward_layers(grad, deltas, acts, dacts, at(x, 0), None, (x, none, none, none), n, cap,
                    params, units, n_coef, size, hidden, 0.0)
