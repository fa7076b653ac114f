"""A slow, obviously right NumPy multi-layer perceptron: the test oracle.

Every compiled kernel in ``kernels/`` is checked against this module, and this
module is itself checked against central finite differences and against
scikit-learn's own estimators (``tests/test_reference.py``).

It is written for clarity, not speed, and follows scikit-learn 1.9.1's math
line by line:

- ``sklearn/neural_network/_base.py``: the activations and the losses
  (derivatives here are written in terms of the pre-activation ``z``,
  which every activation has, where scikit-learn's use the output);
- ``sklearn/neural_network/_multilayer_perceptron.py``: ``_forward_pass``,
  ``_backprop``, ``_compute_loss_grad`` and the mini-batch loop of
  ``_fit_stochastic``;
- ``sklearn/neural_network/_stochastic_optimizers.py``: the SGD (momentum,
  Nesterov) and Adam updates.

Parameters are lists of per-layer arrays, as scikit-learn keeps them:
``coefs[i]`` has shape ``(fan_in, fan_out)`` and ``intercepts[i]`` shape
``(fan_out,)``. ``pack`` / ``unpack`` convert to and from the flat layout of
scikit-learn's ``_pack`` (every coef raveled, then every intercept), which is
the layout the kernels work on.

Beyond scikit-learn: the activations leaky_relu (negative slope
``slope``), elu, softplus, gelu and silu; the losses absolute_error and
huber (threshold ``huber_delta``); inverted dropout on hidden layers with
the masks of ``dropout_mask``.

Only NumPy and SciPy are imported: never fastnn, never scikit-learn.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import erf, expit, xlogy

HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "elu", "softplus",
                      "leaky_relu", "gelu", "silu")
OUTPUT_ACTIVATIONS = ("identity", "logistic", "softmax", "exp")
LOSSES = ("squared_error", "poisson", "log_loss", "binary_log_loss", "absolute_error",
          "huber")

#: The output activation each loss is paired with (for the first four their
#: canonical link, for which d loss / d output pre-activation is
#: ``output - y``).
OUTPUT_FOR_LOSS = {
    "squared_error": "identity",
    "poisson": "exp",
    "log_loss": "softmax",
    "binary_log_loss": "logistic",
    "absolute_error": "identity",
    "huber": "identity",
}


# -- activations -----------------------------------------------------------


def activation(name, z, slope=0.01):
    """The activation ``name`` applied to ``z`` (n_rows, n_units); a new
    array. ``slope``: leaky_relu's negative slope."""
    z = np.array(z, copy=True)
    if name == "identity":
        return z
    if name == "logistic":
        return expit(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))
    if name == "softplus":
        return np.logaddexp(0.0, z)
    if name == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    if name == "gelu":
        return z * _normal_cdf(z)
    if name == "silu":
        return z * expit(z)
    if name == "exp":
        return np.exp(z)
    if name == "softmax":
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(f"unknown activation {name!r}")


def activation_derivative(name, z, slope=0.01):
    """The derivative f'(z) of hidden activation ``name`` at the
    pre-activation ``z``; a new array."""
    z = np.asarray(z)
    if name == "identity":
        return np.ones_like(z)
    if name == "logistic":
        return expit(z) * (1 - expit(z))
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return np.where(z > 0, 1.0, 0.0)
    if name == "elu":
        return np.where(z > 0, 1.0, np.exp(np.minimum(z, 0)))
    if name == "softplus":
        return expit(z)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, slope)
    if name == "gelu":  # Phi(z) + z * phi(z)
        return _normal_cdf(z) + z * np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi)
    if name == "silu":  # s + z s (1 - s)
        return expit(z) * (1 + z * (1 - expit(z)))
    raise ValueError(f"no derivative for activation {name!r}")


def _normal_cdf(z):
    return 0.5 * (1 + erf(z / np.sqrt(2)))


# -- dropout ---------------------------------------------------------------


def dropout_mask(seed, rows, units, rate):
    """The kept (True) / dropped mask of the units ``units`` (1-D, their
    positions among all hidden units) of the rows at epoch positions
    ``rows`` (1-D): the hash of ``kernels/dropout.py``, written here
    independently, vectorized (a unit is kept when its uniform number
    ``hash / 2**32`` is at least ``rate``)."""
    m32 = np.uint64(0xFFFFFFFF)

    def mix(h):
        h = h ^ (h >> np.uint64(16))
        h = (h * np.uint64(0x7FEB352D)) & m32
        h = h ^ (h >> np.uint64(15))
        h = (h * np.uint64(0x846CA68B)) & m32
        return h ^ (h >> np.uint64(16))

    rows = np.asarray(rows, dtype=np.uint64)[:, None]
    units = np.asarray(units, dtype=np.uint64)[None, :]
    h = mix((np.uint64(seed) & m32) ^ rows)
    h = mix(h ^ units)
    return h.astype(np.float64) / 2.0**32 >= rate


# -- losses ----------------------------------------------------------------


def loss(y, out, sw, loss_name, eps=None, huber_delta=1.0):
    """scikit-learn's loss of predictions ``out`` for targets ``y``: the
    ``sw``-weighted mean over rows (``sw=None``: unweighted) of

    - squared_error: half the mean over outputs of ``(y - out)**2``;
    - absolute_error: the mean over outputs of ``|y - out|``;
    - huber: the mean over outputs of ``r**2 / 2`` where ``|r| <= delta``
      and ``delta * (|r| - delta / 2)`` elsewhere, ``r = y - out``;
    - poisson: the sum over outputs of half the Poisson deviance,
      ``y*log(y/out) - y + out``;
    - log_loss: ``-sum_j y_j log p_j``, p clipped to [eps, 1-eps] (a single
      column is treated as the positive class of a binary problem, as
      scikit-learn does);
    - binary_log_loss: ``-sum_j (y_j log p_j + (1-y_j) log(1-p_j))``, clipped.

    ``eps`` defaults to the machine epsilon of ``out``'s dtype (pass the
    kernel's dtype's epsilon when feeding float64 copies of float32 data).
    """
    out = np.asarray(out)
    y = np.asarray(y, dtype=out.dtype).reshape(out.shape)
    if eps is None:
        eps = np.finfo(out.dtype).eps
    if loss_name == "squared_error":
        return 0.5 * np.average((y - out) ** 2, weights=sw, axis=0).mean()
    if loss_name == "absolute_error":
        return np.average(np.abs(y - out), weights=sw, axis=0).mean()
    if loss_name == "huber":
        r = np.abs(y - out)
        d = huber_delta
        return np.average(np.where(r <= d, 0.5 * r**2, d * (r - 0.5 * d)), weights=sw,
                          axis=0).mean()
    if loss_name == "poisson":
        return np.average(xlogy(y, y / out) - y + out, weights=sw, axis=0).sum()
    if loss_name == "log_loss":
        p = np.clip(out, eps, 1 - eps)
        if p.shape[1] == 1:
            p = np.append(1 - p, p, axis=1)
        if y.shape[1] == 1:
            y = np.append(1 - y, y, axis=1)
        return -np.average(xlogy(y, p), weights=sw, axis=0).sum()
    if loss_name == "binary_log_loss":
        p = np.clip(out, eps, 1 - eps)
        return -np.average(xlogy(y, p) + xlogy(1 - y, 1 - p), weights=sw, axis=0).sum()
    raise ValueError(f"unknown loss {loss_name!r}")


def output_delta(out, y, sw, delta_scale=1.0, loss_name="squared_error", huber_delta=1.0):
    """Gradient of the weighted loss *sum* w.r.t. the output pre-activation,
    times ``delta_scale`` (``sw=None``: all ones): ``(out - y) * sw[:, None]``
    for the canonical-link losses; for absolute_error ``sign(out - y)`` and
    for huber ``clip(out - y, -delta, delta)`` in place of ``out - y``,
    divided by n_outputs (these losses average over outputs)."""
    out = np.asarray(out)
    y = np.asarray(y, dtype=out.dtype).reshape(out.shape)
    sw = _weights(sw, out.shape[0])
    r = out - y
    if loss_name == "absolute_error":
        r = np.sign(r) / out.shape[1]
    elif loss_name == "huber":
        r = np.clip(r, -huber_delta, huber_delta) / out.shape[1]
    return r * sw[:, None] * delta_scale


# -- one dense layer -------------------------------------------------------


def dense_forward(inp, W, b):
    """``inp @ W + b``."""
    return inp @ W + b


def dense_backward(dout, inp, W):
    """(d inp, d W, d b) of a dense layer, given ``dout`` at its output."""
    return dout @ W.T, inp.T @ dout, dout.sum(axis=0)


# -- the network -----------------------------------------------------------


def forward(coefs, intercepts, X, hidden, out, **net):
    """All activations ``[X, a_1, ..., a_L]``: ``a_{i+1} = f(a_i @ W_i + b_i)``
    with ``f`` the hidden activation, except the output activation on the
    last layer (scikit-learn's ``_forward_pass``). ``net``: see
    ``forward_train``."""
    return forward_train(coefs, intercepts, X, hidden, out, **net)[0]


def forward_train(coefs, intercepts, X, hidden, out, slope=0.01, drop=None, seed=0, row0=0):
    """``(activations, derivatives)``: the activations of ``forward`` and,
    for each hidden layer i (1-based), ``f'(z_i)`` times its dropout factor.

    ``drop``: None, or the dropout rate of each hidden layer: a hidden
    output is multiplied by ``mask / (1 - rate)`` with the
    ``dropout_mask`` of ``seed`` for rows at epoch positions ``row0, row0 +
    1, ...`` and the layer's units numbered on from the previous hidden
    layers' (inverted dropout)."""
    activations = [_dense(X)]
    derivatives = [None]
    n_layers = len(coefs)
    col0 = 0
    for i in range(n_layers):
        z = dense_forward(activations[i], coefs[i], intercepts[i])
        if i == n_layers - 1:
            activations.append(activation(out, z))
            break
        a = activation(hidden, z, slope)
        d = activation_derivative(hidden, z, slope)
        width = z.shape[1]
        if drop is not None and drop[i] > 0:
            keep = dropout_mask(seed, row0 + np.arange(z.shape[0]), col0 + np.arange(width),
                                drop[i])
            factor = np.where(keep, 1.0 / (1.0 - drop[i]), 0.0)
            a, d = a * factor, d * factor
        activations.append(a)
        derivatives.append(d)
        col0 += width
    return activations, derivatives


def penalty(coefs, alpha, sw_sum):
    """The L2 term scikit-learn adds to the loss: ``0.5*alpha*||W||^2 / sw_sum``
    (intercepts are not penalised)."""
    values = 0.0
    for W in coefs:
        w = W.ravel()
        values += np.dot(w, w)
    return 0.5 * alpha * values / sw_sum


def objective(coefs, intercepts, X, y, sw, hidden, out, loss_name, alpha, huber_delta=1.0,
              **net):
    """scikit-learn's training loss (data loss plus the L2 term) at these
    weights; what ``backprop`` returns as its first value."""
    activations = forward(coefs, intercepts, X, hidden, out, **net)
    sw_sum = _weights(sw, activations[0].shape[0]).sum()
    return loss(y, activations[-1], sw, loss_name, huber_delta=huber_delta) + penalty(
        coefs, alpha, sw_sum)


def backprop(coefs, intercepts, X, y, sw, hidden, out, loss_name, alpha, delta_scale=1.0,
             huber_delta=1.0, **net):
    """scikit-learn's ``_backprop``: returns ``(loss, coef_grads, intercept_grads)``.

    loss = weighted mean loss + ``0.5*alpha*||W||^2 / sum(sw)``; the output
    delta is ``(out - y) * sw * delta_scale``, and layer ``i``'s gradients are
    ``(a_i.T @ delta_i + alpha * W_i) / sum(sw)`` and ``delta_i.sum(0) / sum(sw)``.

    ``delta_scale=1`` is scikit-learn exactly. Its gradient is the gradient
    of the loss for every loss except multi-output squared error, whose loss
    averages over outputs while the delta does not (scikit-learn#8349):
    ``delta_scale=1/n_outputs`` gives the true gradient there.

    ``net`` (slope, drop, seed, row0) as for ``forward_train``.
    """
    activations, derivatives = forward_train(coefs, intercepts, X, hidden, out, **net)
    n_samples = activations[0].shape[0]
    y = np.asarray(y, dtype=activations[-1].dtype).reshape(activations[-1].shape)
    sw_sum = _weights(sw, n_samples).sum()
    value = loss(y, activations[-1], sw, loss_name, huber_delta=huber_delta) + penalty(
        coefs, alpha, sw_sum)

    n_layers = len(coefs)
    coef_grads = [None] * n_layers
    intercept_grads = [None] * n_layers
    delta = output_delta(activations[-1], y, sw, delta_scale, loss_name, huber_delta)
    for i in range(n_layers - 1, -1, -1):
        # scikit-learn's _compute_loss_grad for layer i
        coef_grads[i] = (activations[i].T @ delta + alpha * coefs[i]) / sw_sum
        intercept_grads[i] = delta.sum(axis=0) / sw_sum
        if i > 0:
            delta = (delta @ coefs[i].T) * derivatives[i]
    return value, coef_grads, intercept_grads


# -- optimizers ------------------------------------------------------------


def sgd_step(params, velocities, grads, lr, momentum, nesterov):
    """scikit-learn's ``SGDOptimizer`` step, in place on the lists ``params``
    and ``velocities``::

        velocity = momentum * velocity - lr * grad
        update = momentum * velocity - lr * grad  if nesterov else velocity
        param += update
    """
    updates = [momentum * v - lr * g for v, g in zip(velocities, grads)]
    for v, u in zip(velocities, updates):
        v[...] = u
    if nesterov:
        updates = [momentum * v - lr * g for v, g in zip(velocities, grads)]
    for p, u in zip(params, updates):
        p += u


def adam_lr(lr_init, beta1, beta2, t):
    """Adam's bias-corrected step size at step ``t`` (1-based)."""
    return lr_init * np.sqrt(1 - beta2**t) / (1 - beta1**t)


def adam_step(params, ms, vs, grads, lr_init, beta1, beta2, eps, t):
    """scikit-learn's ``AdamOptimizer`` step, in place on ``params``, ``ms``,
    ``vs``; ``t`` is the step count before this step. Returns ``t + 1``::

        t += 1
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        lr = lr_init * sqrt(1 - beta2**t) / (1 - beta1**t)
        param += -lr * m / (sqrt(v) + eps)
    """
    t += 1
    for m, v, g in zip(ms, vs, grads):
        m[...] = beta1 * m + (1 - beta1) * g
        v[...] = beta2 * v + (1 - beta2) * g**2
    lr = adam_lr(lr_init, beta1, beta2, t)
    for p, m, v in zip(params, ms, vs):
        p += -lr * m / (np.sqrt(v) + eps)
    return t


def init_optimizer(solver, coefs, intercepts):
    """Fresh optimizer state for ``solver`` ("sgd" or "adam"), a dict."""
    params = list(coefs) + list(intercepts)
    if solver == "sgd":
        return {"solver": "sgd", "velocities": [np.zeros_like(p) for p in params]}
    if solver == "adam":
        return {
            "solver": "adam",
            "ms": [np.zeros_like(p) for p in params],
            "vs": [np.zeros_like(p) for p in params],
            "t": 0,
        }
    raise ValueError(f"unknown solver {solver!r}")


def epoch(coefs, intercepts, opt_state, X, Y, SW, order, batch_size,
          hidden, out, loss_name, alpha, lr,
          momentum=0.9, nesterov=True, beta1=0.9, beta2=0.999, eps=1e-8,
          slope=0.01, huber_delta=1.0, drop=None, seed=0):
    """One epoch of scikit-learn's ``_fit_stochastic``: the rows ``order``
    in consecutive batches of ``batch_size`` (the last one shorter), for each
    ``_backprop`` then one optimizer step. ``coefs``, ``intercepts`` and
    ``opt_state`` (see ``init_optimizer``) are updated in place.

    Returns the sum over batches of ``batch_loss * batch_rows`` (scikit-learn's
    ``accumulated_loss``; divide by the number of rows for ``loss_``).

    ``lr`` is SGD's current learning rate or Adam's ``learning_rate_init``.
    ``SW=None`` means unweighted. A batch whose weights are all zero is
    skipped (no loss, no step): the kernels' convention, where scikit-learn
    would raise ``ZeroDivisionError`` in ``np.average``.

    With dropout rates ``drop``, the batch starting at epoch position
    ``start`` uses the masks of ``seed`` for positions ``start, ...``.
    """
    params = list(coefs) + list(intercepts)
    n = len(order)
    accumulated_loss = 0.0
    for start in range(0, n, batch_size):
        rows = np.asarray(order[start : start + batch_size])
        X_batch = X[rows]
        y_batch = np.asarray(Y)[rows]
        sw_batch = None if SW is None else np.asarray(SW)[rows]
        if sw_batch is not None and sw_batch.sum() == 0:
            continue
        batch_loss, coef_grads, intercept_grads = backprop(
            coefs, intercepts, X_batch, y_batch, sw_batch, hidden, out, loss_name, alpha,
            huber_delta=huber_delta, slope=slope, drop=drop, seed=seed, row0=start,
        )
        accumulated_loss += batch_loss * len(rows)
        grads = coef_grads + intercept_grads
        if opt_state["solver"] == "sgd":
            sgd_step(params, opt_state["velocities"], grads, lr, momentum, nesterov)
        else:
            opt_state["t"] = adam_step(
                params, opt_state["ms"], opt_state["vs"], grads,
                lr, beta1, beta2, eps, opt_state["t"],
            )
    return accumulated_loss


# -- flat layout -----------------------------------------------------------


def units_of(coefs):
    """Layer widths ``[n_in, n_hidden..., n_out]`` of a network."""
    return [coefs[0].shape[0]] + [W.shape[1] for W in coefs]


def pack(coefs, intercepts):
    """One flat vector in scikit-learn's ``_pack`` layout: every coef raveled,
    then every intercept."""
    return np.concatenate([np.ravel(W) for W in coefs] + [np.ravel(b) for b in intercepts])


def unpack(flat, units):
    """``(coefs, intercepts)`` (fresh copies) from a flat vector in ``_pack``
    layout for layer widths ``units``."""
    flat = np.asarray(flat)
    coefs, intercepts = [], []
    start = 0
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        coefs.append(flat[start : start + fan_in * fan_out].reshape(fan_in, fan_out).copy())
        start += fan_in * fan_out
    for fan_out in units[1:]:
        intercepts.append(flat[start : start + fan_out].copy())
        start += fan_out
    if start != flat.shape[0]:
        raise ValueError(f"flat vector of length {flat.shape[0]} does not fit units {units}")
    return coefs, intercepts


# -- helpers ---------------------------------------------------------------


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def _weights(sw, n):
    return np.ones(n) if sw is None else np.asarray(sw, dtype=float)
