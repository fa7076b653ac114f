"""Where a mini-batch epoch's time goes, phase by phase.

Usage::

    python bench/epoch_profile.py [W4 W3-f64 ...] [--blas-threads N] [--repeats R]

``profiled_epoch`` is ``kernels.cpu.minibatch_epoch`` for Adam on dense X
without dropout, with the CPU's cycle counter read between its phases. It
calls the same kernels in the same order on the same buffers (the
backward pass spelled out, so that the weight-gradient and input-gradient
products are timed apart); ``tests/test_epoch_profile.py`` checks that it
trains to the same bits as ``minibatch_epoch``. Counter ticks become
seconds at the rate measured against ``time.perf_counter`` around each
run, so the phases add up to the run's wall time.

For each workload named (Adam with a fixed batch size: W3-f64, W3-f32,
W4) it trains from fastnn's initial weights for the workload's epochs,
``--repeats`` times, and prints the fastest run's microseconds per batch
in each phase, with one real fastnn ``fit`` of the workload timed in the
same process to show that the profiled epochs take the fit's time.
"""

import argparse
import sys
import time
import warnings

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from sklearn.preprocessing import LabelBinarizer

import fastnn
from fastnn._params import init_params
from fastnn.kernels import codes
from fastnn.kernels.cpu.activations import activation_backward_sum, bias_activation_forward
from fastnn.kernels.cpu.dense import dense_backward
from fastnn.kernels.cpu.losses import loss_sum, output_delta
from fastnn.kernels.cpu.network import coef_sqnorm, gather_rows, layout
from fastnn.kernels.cpu.optimizers import adam_lr, adam_step_raw

import workloads as wl

PHASES = (
    "gather X, Y rows",
    "forward products",
    "bias + activation",
    "loss, penalty, output delta",
    "weight-gradient products",
    "input-gradient products",
    "activation backward + bias sums",
    "Adam step",
)


@intrinsic
def _ticks(typingctx):
    """The CPU's cycle counter (LLVM's readcyclecounter)."""
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return types.uint64(), codegen


@njit(error_model="numpy", nogil=True)
def profiled_epoch(ticks, params, m, v, Xd, Y, SW, order, batch_size, units, hidden_code,
                   act_param, out_code, loss_code, loss_param, alpha, lr, beta1, beta2, eps, t):
    """minibatch_epoch (solver Adam, dense X, no dropout), adding the
    counter ticks of each phase to ``ticks`` (uint64, len(PHASES)).
    Returns what minibatch_epoch returns: (summed batch losses, t)."""
    n = order.shape[0]
    dtype = params.dtype.type
    one = dtype(1.0)
    n_layers = units.shape[0] - 1
    n_out = units[n_layers]
    coef_off, bias_off, act_off, size = layout(units, batch_size)
    n_coef = bias_off[0]
    acts = np.empty(size, dtype=params.dtype)
    dacts = np.empty(size, dtype=params.dtype)
    deltas = np.empty(size, dtype=params.dtype)
    grad = np.empty_like(params)
    xb = np.empty((batch_size, units[0]), dtype=params.dtype)
    yb = np.empty((batch_size, n_out), dtype=params.dtype)
    swb = np.empty(batch_size, dtype=params.dtype)
    no_dz = dacts[:0].reshape((0, 0))
    no_index = order[:0]
    total = 0.0
    for start in range(0, n, batch_size):
        c0 = _ticks()
        stop = min(start + batch_size, n)
        nb = stop - start
        rows = order[start:stop]
        gather_rows(xb, Xd, Xd[0], no_index, no_index, False, rows)
        sw_sum = 0.0
        for r in range(nb):
            i = rows[r]
            for j in range(n_out):
                yb[r, j] = Y[i, j]
            swb[r] = SW[i]
            sw_sum += SW[i]
        x = xb[:nb]
        y = yb[:nb]
        sw = swb[:nb]
        c1 = _ticks()
        ticks[0] += c1 - c0
        inp = x
        for l in range(n_layers):
            fi, fo = units[l], units[l + 1]
            block = slice(act_off[l], act_off[l] + nb * fo)
            out = acts[block].reshape((nb, fo))
            c0 = _ticks()
            np.dot(inp, params[coef_off[l] : coef_off[l] + fi * fo].reshape((fi, fo)), out)
            c1 = _ticks()
            hidden = l < n_layers - 1
            dz = dacts[block].reshape((nb, fo)) if hidden else no_dz
            bias_activation_forward(out, dz, params[bias_off[l] : bias_off[l] + fo],
                                    hidden_code if hidden else out_code, act_param)
            c2 = _ticks()
            ticks[1] += c1 - c0
            ticks[2] += c2 - c1
            inp = out
        c0 = _ticks()
        batch_loss = loss_sum(inp, y, sw, loss_code, loss_param)
        batch_loss = (batch_loss + 0.5 * alpha * coef_sqnorm(params, units)) / sw_sum
        total += batch_loss * nb
        last = act_off[n_layers - 1]
        output_delta(deltas[last : last + nb * n_out].reshape((nb, n_out)), inp, y, sw, one,
                     loss_code, loss_param)
        ticks[3] += _ticks() - c0
        for l in range(n_layers - 1, -1, -1):
            fi, fo = units[l], units[l + 1]
            coef = slice(coef_off[l], coef_off[l] + fi * fo)
            dout = deltas[act_off[l] : act_off[l] + nb * fo].reshape((nb, fo))
            c0 = _ticks()
            if l > 0:
                below = slice(act_off[l - 1], act_off[l - 1] + nb * fi)
                a_in = acts[below].reshape((nb, fi))
            else:
                a_in = x
            # dense_backward in two timed halves: the weight gradient (and
            # the output's intercept sum, as backward_pass asks), here with
            # no input-gradient rows; then its input-gradient product.
            db = grad[bias_off[l] : bias_off[l] + (fo if l == n_layers - 1 else 0)]
            dense_backward(deltas[:0].reshape((0, fi)), grad[coef].reshape((fi, fo)), db, dout,
                           a_in, params[coef].reshape((fi, fo)))
            c1 = _ticks()
            ticks[4] += c1 - c0
            if l > 0:
                dinp = deltas[below].reshape((nb, fi))
                np.dot(dout, params[coef].reshape((fi, fo)).T, dinp)
                c2 = _ticks()
                activation_backward_sum(dinp, dacts[below].reshape((nb, fi)),
                                        grad[bias_off[l - 1] : bias_off[l - 1] + fi])
                ticks[5] += c2 - c1
                ticks[6] += _ticks() - c2
        c0 = _ticks()
        t += 1
        adam_step_raw(params, m, v, grad, n_coef, alpha, dtype(sw_sum),
                      dtype(adam_lr(lr, beta1, beta2, t)), beta1, beta2, eps)
        ticks[7] += _ticks() - c0
    return total, t


def _targets(w, y, dtype):
    """(Y 2-D, output activation code, loss code) as fastnn trains ``w``."""
    if w.estimator == "MLPClassifier":
        Y = LabelBinarizer().fit_transform(y)
        out = codes.SOFTMAX if Y.shape[1] > 1 else codes.LOGISTIC
        return np.ascontiguousarray(Y, dtype=dtype), out, codes.LOG_LOSS
    Y = np.ascontiguousarray(y.reshape(len(y), -1), dtype=dtype)
    return Y, codes.IDENTITY, codes.SQUARED_ERROR


def adam_workloads(names, what):
    """The workloads named (workloads.select), exiting unless each trains
    with Adam in batches of a fixed size above 1: what ``what`` covers."""
    chosen = wl.select(names)
    for w in chosen:
        if w.params.get("solver", "adam") != "adam" or w.params.get("batch_size", 1) in (1, "auto"):
            sys.exit(f"{w.name}: {what} covers Adam with a fixed batch size above 1")
    return chosen


def problem(w):
    """What fastnn's epochs train on for workload ``w``: (X, y, Y, SW,
    units, hidden activation's name, output activation code, loss code,
    scalars), the scalars being (act_param, loss_param, alpha, lr, beta1,
    beta2, eps) in X's dtype."""
    X, _, y, _ = wl.workload_data(w)
    dtype = X.dtype.type
    p = w.params
    Y, out_code, loss_code = _targets(w, y, dtype)
    units = np.array([X.shape[1], *p["hidden_layer_sizes"], Y.shape[1]], dtype=np.int64)
    scalars = tuple(dtype(s) for s in (0.01, 1.0, p.get("alpha", 1e-4),
                                       p.get("learning_rate_init", 1e-3), p.get("beta_1", 0.9),
                                       p.get("beta_2", 0.999), p.get("epsilon", 1e-8)))
    return (X, y, Y, np.ones(X.shape[0], dtype=dtype), units, p.get("activation", "relu"),
            out_code, loss_code, scalars)


def profile(w, repeats):
    """Per-phase seconds per batch (in the fastest of ``repeats`` runs of
    the workload's epochs), that run's wall seconds, one real fit's seconds
    and the number of batches."""
    X, y, Y, SW, units, activation, out_code, loss_code, scalars = problem(w)
    act_param, loss_param, alpha, lr, beta1, beta2, eps = scalars
    dtype = X.dtype.type
    p = w.params
    n_epochs, batch = p["max_iter"], p["batch_size"]
    n_batches = n_epochs * -(-X.shape[0] // batch)

    def run():
        rng = np.random.RandomState(0)
        params = init_params(units, activation, rng, dtype)  # fastnn's initial weights
        m, v = np.zeros_like(params), np.zeros_like(params)
        ticks = np.zeros(len(PHASES), dtype=np.uint64)
        t = 0
        wall, c0 = time.perf_counter(), _tick_now()
        for _ in range(n_epochs):
            order = rng.permutation(X.shape[0]).astype(np.int64)
            _, t = profiled_epoch(ticks, params, m, v, X, Y, SW, order, batch, units,
                                  codes.ACTIVATIONS[activation], act_param, out_code, loss_code,
                                  loss_param, alpha, lr, beta1, beta2, eps, t)
        c1, wall = _tick_now(), time.perf_counter() - wall
        rate = (c1 - c0) / wall  # counter ticks per second
        return ticks / rate / n_batches, wall

    run()  # compile
    per_batch, wall = min((run() for _ in range(repeats)), key=lambda r: r[1])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fixed epochs: "not converged" is expected
        getattr(fastnn, w.estimator)(**p).fit(X, y)
    return per_batch, wall, time.perf_counter() - start, n_batches


@njit(nogil=True)
def _tick_now():
    return int(_ticks())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", default=["W4", "W3-f64", "W3-f32"])
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="BLAS threads (default: the BLAS's own setting)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    chosen = adam_workloads(args.workloads, "the profile")
    limit = None
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(args.blas_threads)
    for w in chosen:
        per_batch, wall, fit_s, n_batches = profile(w, args.repeats)
        print(f"{w.name}: {n_batches} batches; profiled epochs {wall:.3f} s "
              f"(fastest of {args.repeats}), one fastnn fit {fit_s:.3f} s")
        for name, sec in zip(PHASES, per_batch):
            print(f"  {name:34s} {sec * 1e6:8.1f} us/batch  {100 * sec * n_batches / wall:5.1f}%")
    if limit is not None:
        limit.restore_original_limits()


if __name__ == "__main__":
    main()
