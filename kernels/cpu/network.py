"""Whole-network passes over one flat parameter buffer, and the full-batch
drivers: the loss and gradient for L-BFGS, and prediction.

Layout (scikit-learn's ``_pack``): ``coefs_[0].ravel(), ..., coefs_[L-1].ravel(),
intercepts_[0], ..., intercepts_[L-1]``, where ``units`` (int64, length
L + 1) gives the width of every layer from the input to the output; the
first ``n_coef`` entries are the weights.

Activation, derivative and delta buffers are flat too: for a batch of at most
``cap`` rows, the block of layer ``l``'s output (l = 0..L-1, rows first)
starts at entry ``cap * (units[1] + ... + units[l])``.

The drivers here and in ``epochs.py`` see every float buffer as bytes
(``size`` bytes an entry: 8 for float64, 4 for float32). They move rows,
call BLAS and hand the components pointers into the buffers; the
components (``hidden``, a layer component; ``head``, the output layer;
``step``, the optimizer) do all the float arithmetic. So one compile of a
driver serves both float dtypes and every activation, loss and solver.
"""

from . import activations as layer
from . import losses as head_mode
from .activations import call_layer
from .losses import call_head
from .pointers import at, clear, copy, gemm
from .sparse import FORWARD, WEIGHT_GRAD, call_csr
from .optimizers import FINISH, call_step
from ._jit import jit, jit_inline


def n_params(units):
    """Length of the flat buffer for a network of widths ``units``."""
    units = [int(u) for u in units]
    return sum(a * b + b for a, b in zip(units[:-1], units[1:]))


@jit_inline
def n_coef_and_width(units):
    """(how many weights the network has, how many units its layers have
    in all): a flat buffer's weights, a batch row's share of an activation
    buffer."""
    n_coef = 0
    width = 0
    for l in range(units.shape[0] - 1):
        n_coef += units[l] * units[l + 1]
        width += units[l + 1]
    return n_coef, width


@jit_inline
def gather_rows(xb, Xd, data, indices, indptr, is_sparse, rows, row_bytes, size):
    """Copy the rows ``rows`` of X, of ``row_bytes`` bytes each, into the
    byte buffer ``xb``, one after the other. X is dense ``Xd`` (the rows'
    bytes) or, when ``is_sparse``, canonical CSR arrays ``data`` (bytes,
    ``size`` an entry), ``indices``, ``indptr`` (each column once a row)."""
    for r in range(rows.shape[0]):
        i = rows[r]
        dst = r * row_bytes
        if not is_sparse:
            copy(at(xb, dst), at(Xd, i * row_bytes), row_bytes)
            continue
        clear(at(xb, dst), row_bytes)
        for p in range(indptr[i], indptr[i + 1]):
            # one entry: a copy of constant size is a plain load and store
            if size == 8:
                copy(at(xb, dst + indices[p] * 8), at(data, p * 8), 8)
            else:
                copy(at(xb, dst + indices[p] * 4), at(data, p * 4), 4)


@jit_inline
def chunk_rows(xb, Xd, data, indices, indptr, is_sparse, csr, rows, start, nb, n_in, size):
    """Rows ``start .. start + nb`` of X as the passes take them (see
    ``input_product``): for sparse X their row numbers in ``rows`` (int64
    scratch of at least ``nb``); and a pointer to them dense, ``n_in`` entries of
    ``size`` bytes a row: into dense ``Xd``, or into ``xb`` after gathering
    sparse X's rows there, unless ``csr`` reads them in place (see
    ``input_product``)."""
    if not is_sparse:
        return at(Xd, start * n_in * size)
    for r in range(nb):
        rows[r] = start + r
    if csr is None:
        gather_rows(xb, Xd, data, indices, indptr, is_sparse, rows[:nb], n_in * size, size)
        return at(xb, 0)
    return at(Xd, 0)  # not read: the first layer takes the rows' stored entries


@jit_inline
def input_product(double, x, csr, src, n, fi, fo, W, out):
    """out (n, fo) = the n input rows @ W (fi, fo), at void pointers: BLAS
    on the dense rows at ``x`` where ``csr`` is None, or, for sparse rows
    read in place (``csr`` the address of a ``sparse.csr_component``;
    ``src`` is ``(data, indices, indptr, rows)``, the batch's row numbers in
    ``rows``), a sum over each row's stored entries: the rows are not
    densified, and the work and memory grow with the non-zeros. ``csr`` is
    None or an address by type, so numba drops the other branch: a driver
    specialized for dense rows holds no sparse code, and the other way
    round."""
    data, indices, indptr, rows = src
    if csr is None:
        gemm(double, False, False, n, fo, fi, x, W, 0.0, out)
    else:
        call_csr(csr, FORWARD, out, W, at(data, 0), at(indices, 0), at(indptr, 0), at(rows, 0),
                 n, fi, fo, 0.0)


@jit_inline
def input_weight_grad(double, x, csr, src, n, fi, fo, dout, beta, G):
    """G (fi, fo) = input rows.T @ dout (n, fo), plus G when ``beta`` is 1:
    the first layer's weight gradient, for the input of ``input_product``."""
    data, indices, indptr, rows = src
    if csr is None:
        gemm(double, True, False, fi, fo, n, x, dout, beta, G)
    else:
        call_csr(csr, WEIGHT_GRAD, G, dout, at(data, 0), at(indices, 0), at(indptr, 0),
                 at(rows, 0), n, fi, fo, beta)


@jit_inline
def forward_layers(acts, dacts, x, csr, src, n, cap, params, units, n_coef, size, hidden,
                   act_param, mode, drop, seed, row0):
    """Forward the ``n`` input rows (at pointer ``x``, (n, units[0]), or
    sparse: ``csr`` and ``src``, see ``input_product``) through the hidden
    layers and the output layer's product into ``acts``; returns the entry offset of
    the output layer's block, which the head takes from there.

    ``mode`` is the hidden layers' (``layer.PREDICT`` or ``layer.TRAIN``). Training
    writes each hidden layer's derivative into ``dacts`` (laid out as
    ``acts``), and hidden layer ``l`` drops units at rate ``drop[l]``
    (float64) with the masks of ``seed`` for rows at epoch positions
    ``row0, row0 + 1, ...``; prediction reads neither.
    """
    double = size == 8
    n_layers = units.shape[0] - 1
    off_w = 0  # layer l's weights in params
    off_b = n_coef  # its intercept
    off_a = 0  # its output block in acts
    col0 = 0  # its first unit among all hidden units (the dropout masks' column)
    inp = x
    for l in range(n_layers):
        fi = units[l]
        fo = units[l + 1]
        out = at(acts, off_a * size)
        if l == 0:
            input_product(double, x, csr, src, n, fi, fo, at(params, 0), out)
        else:
            gemm(double, False, False, n, fo, fi, inp, at(params, off_w * size), 0.0, out)
        if l == n_layers - 1:
            break
        rate = drop[l] if mode == layer.TRAIN else 0.0
        call_layer(hidden, mode, out, at(dacts, off_a * size), at(params, off_b * size), n, fo,
                   act_param, rate, seed, row0, col0, 0.0)
        inp = out
        col0 += fo
        off_w += fi * fo
        off_b += fo
        off_a += cap * fo
    return off_a


@jit_inline
def backward_layers(grad, deltas, acts, dacts, x, csr, src, n, cap, params, units, n_coef, size,
                    hidden, beta):
    """Backpropagate the output delta, which the head wrote into
    ``deltas``' last block together with the output intercept gradient,
    through the layers a training ``forward_layers`` left in ``acts`` and
    ``dacts``, and write the raw gradient sums into ``grad``: ``a.T @
    delta`` for the weights and ``delta.sum(0)`` for the intercepts, no
    penalty, no normalisation. ``beta`` 0 overwrites ``grad``, 1 adds to
    it (the chunks of a full batch). The input rows: as for
    ``forward_layers``."""
    double = size == 8
    n_layers = units.shape[0] - 1
    off_w = n_coef
    off_b = grad.shape[0] // size
    off_a = 0
    for l in range(n_layers):
        off_a += cap * units[l + 1]
    for l in range(n_layers - 1, -1, -1):
        fi = units[l]
        fo = units[l + 1]
        off_w -= fi * fo
        off_b -= fo
        off_a -= cap * fo
        dout = at(deltas, off_a * size)
        if l == 0:
            input_weight_grad(double, x, csr, src, n, fi, fo, dout, beta, at(grad, 0))
            break
        below = off_a - cap * fi  # layer l's input block
        gemm(double, True, False, fi, fo, n, at(acts, below * size), dout, beta,
             at(grad, off_w * size))
        dinp = at(deltas, below * size)
        gemm(double, False, True, n, fi, fo, dout, at(params, off_w * size), 0.0, dinp)
        # the derivative, and the layer below's intercept gradient
        call_layer(hidden, layer.BACKWARD, dinp, at(dacts, below * size),
                   at(grad, (off_b - fi) * size), n, fi, 0.0, 0.0, 0, 0, 0, beta)


@jit
def loss_grad(hidden, head, step, csr, size, grad, params, Xd, data, indices, indptr, is_sparse,
              Y, SW, units, act_param, loss_param, alpha, delta_scale, chunk, acts,
              dacts, deltas, xb, rows, sw_chunk, no_drop):
    """Full-batch loss and gradient (for L-BFGS), in row chunks of ``chunk``.

    Returns scikit-learn's loss over all rows (weighted mean loss plus
    ``0.5 * alpha * ||W||^2 / sum(SW)``) and writes its gradient into
    ``grad``. ``delta_scale`` scales the output delta: 1 reproduces
    scikit-learn, ``1 / n_outputs`` for multi-output squared error makes
    the gradient that of the reported loss. No dropout (a full-batch
    objective is deterministic). ``step`` is only asked to finish the
    gradient (its FINISH mode); ``csr``, for sparse X read in place, is the
    first layer's (see ``input_product``; else not called).

    Y : (n, n_outputs) and SW : (n,) as bytes; grad, params : (n_params,)
    as bytes. Scratch: ``acts``, ``dacts``, ``deltas`` (bytes of ``cap *
    width`` entries, ``cap`` the rows of a chunk, ``width`` the network's
    units past the input), ``xb`` (``cap * units[0]`` entries, for sparse X
    not read in place by ``csr``; see ``input_product``), ``rows`` (int64, cap),
    ``sw_chunk`` (float64, 1); ``no_drop``: the
    layers' dropout rates, zeros (float64, n_layers).
    """
    n = SW.shape[0] // size
    n_layers = units.shape[0] - 1
    n_in = units[0]
    n_out = units[n_layers]
    cap = chunk if chunk < n else n
    n_coef, width = n_coef_and_width(units)
    data_loss = 0.0
    sw_sum = 0.0
    for start in range(0, n, cap):
        nb = cap if start + cap < n else n - start
        x = chunk_rows(xb, Xd, data, indices, indptr, is_sparse, csr, rows, start, nb, n_in, size)
        src = (data, indices, indptr, rows)
        last = forward_layers(acts, dacts, x, csr, src, nb, cap, params, units, n_coef, size,
                              hidden, act_param, layer.TRAIN, no_drop, 0, 0)
        beta = 0.0 if start == 0 else 1.0
        data_loss += call_head(head, head_mode.TRAIN, at(acts, last * size),
                               at(params, (n_coef + width - n_out) * size),
                               at(Y, start * n_out * size), at(SW, start * size),
                               at(deltas, last * size), at(grad, (n_coef + width - n_out) * size),
                               nb, n_out, loss_param, delta_scale, beta, at(sw_chunk, 0))
        sw_sum += sw_chunk[0]
        backward_layers(grad, deltas, acts, dacts, x, csr, src, nb, cap, params, units, n_coef,
                        size, hidden, beta)
    sq = call_step(step, FINISH, at(params, 0), at(params, 0), at(params, 0), at(grad, 0),
                   params.shape[0] // size, n_coef, alpha, sw_sum, 0.0, 0.0, False, 0.0, 0.0, 0.0,
                   False)
    return (data_loss + 0.5 * alpha * sq) / sw_sum


@jit
def predict(hidden, head, csr, size, out, Xd, data, indices, indptr, is_sparse, params,
            units, act_param, chunk, acts, xb, rows, no_drop):
    """Forward pass for prediction, in row chunks of ``chunk`` so the extra
    memory is bounded whatever the number of rows. out : (n, units[-1]) as
    bytes. Scratch as in ``loss_grad`` (``acts`` for ``cap`` rows, ``cap``
    at least 1); ``no_drop`` is not read."""
    n_layers = units.shape[0] - 1
    n_in = units[0]
    n_out = units[n_layers]
    n = out.shape[0] // (n_out * size)
    cap = chunk if chunk < n else (n if n > 0 else 1)
    n_coef, width = n_coef_and_width(units)
    out_bias = at(params, (n_coef + width - n_out) * size)
    for start in range(0, n, cap):
        nb = cap if start + cap < n else n - start
        x = chunk_rows(xb, Xd, data, indices, indptr, is_sparse, csr, rows, start, nb, n_in, size)
        last = forward_layers(acts, acts, x, csr, (data, indices, indptr, rows), nb, cap,
                              params, units, n_coef, size, hidden, act_param, layer.PREDICT,
                              no_drop, 0, 0)
        z = at(acts, last * size)
        call_head(head, head_mode.PREDICT, z, out_bias, z, z, z, z, nb, n_out, 0.0, 0.0, 0.0, z)
        copy(at(out, start * n_out * size), z, nb * n_out * size)
