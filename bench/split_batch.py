"""What splitting each mini-batch over two workers would gain.

Usage::

    python bench/split_batch.py [W4 W3-f64 W3-f32] [--rounds N]

fastnn's mini-batch epoch (``minibatch_epoch``) runs on one thread and
leaves the second core to the BLAS, whose threads share each matrix
product. On the reference workloads' small products (a batch of 256 rows)
that sharing reaches about 70% of the BLAS's own large-matrix rate, and
every step between the products (gather, activations, loss, Adam) runs on
one core while the other waits.

``split_epoch`` is the other way to use two cores: each batch is cut in
two halves of rows, each worker forwards and backpropagates its half with
a single-threaded BLAS, the two raw gradients are summed, and each worker
takes the Adam step of half of the parameters. Two barriers per batch
(before the sum and after the step) keep the workers in step; they spin,
so this assumes two otherwise idle cores. It covers Adam on dense input
without dropout: enough to time the reference workloads, not something
fastnn ships (the split changes the gradient's summation order, so the
trained bits would depend on the number of workers; it needs the BLAS that
Numba calls held at one thread during the fit; and spinning workers
starve each other when the cores are shared, as under ``n_jobs``).

The script alternates, for each workload, its epochs with
``minibatch_epoch`` (the BLAS at its own thread count) and with
``split_epoch`` (two workers, the BLAS at one thread), from the same start
and row orders, and prints the seconds of each, their ratio and each
one's final training loss. tests/test_split_batch.py checks that the
split epoch trains the same model up to rounding. It measures and asserts
nothing else.
"""

import argparse
import platform
import threading
import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from threadpoolctl import threadpool_limits

from fastnn._params import init_params
from fastnn.kernels import codes
from fastnn.kernels.cpu import minibatch_epoch
from fastnn.kernels.cpu.losses import loss_sum, output_delta
from fastnn.kernels.cpu.network import (
    backward_pass,
    coef_sqnorm,
    forward_pass,
    gather_rows,
    layout,
)
from fastnn.kernels.cpu.optimizers import adam_lr, adam_step_raw

from epoch_profile import adam_workloads, problem


def _item_pointer(context, builder, arrty, arr, idx):
    array = context.make_array(arrty)(context, builder, arr)
    return cgutils.get_item_pointer(context, builder, arrty, array, [idx])


@intrinsic
def _atomic_add(typingctx, arr, idx, val):
    """arr[idx] += val as one atomic operation (arr int64); returns the old
    value."""
    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return types.int64(arr, idx, val), codegen


@intrinsic
def _atomic_load(typingctx, arr, idx):
    """arr[idx] (int64), read with acquire ordering: never hoisted out of a
    spin loop, and the other worker's writes before its release are seen."""
    def codegen(context, builder, signature, args):
        ptr = _item_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return types.int64(arr, idx), codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


@intrinsic
def _spin_pause(typingctx):
    """The x86 ``pause`` hint inside a spin loop (nothing elsewhere)."""
    def codegen(context, builder, signature, args):
        if _X86:
            fnty = ir.FunctionType(ir.VoidType(), [])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


@njit(nogil=True)
def _barrier(sync):
    """Wait until both workers arrive. sync: int64 (2,), zeros at first:
    the count of arrived workers and the generation, which the second to
    arrive advances."""
    generation = _atomic_load(sync, 1)
    if _atomic_add(sync, 0, 1) == 1:
        _atomic_add(sync, 0, -2)
        _atomic_add(sync, 1, 1)
    else:
        while _atomic_load(sync, 1) == generation:
            _spin_pause()


@njit(nogil=True, error_model="numpy")
def split_epoch(worker, sync, shared, grads, params, m, v, Xd, Y, SW, order, batch_size, units,
                hidden_code, act_param, out_code, loss_code, loss_param, alpha, lr, beta1,
                beta2, eps, t):
    """Worker ``worker`` (0 or 1) of one Adam epoch over dense ``Xd``, run
    by two threads at once with the same other arguments: minibatch_epoch's
    arguments for that case (same meaning, same return value), plus
    ``sync`` (int64 (2,), zeros), ``shared`` (float64 (3,)) and ``grads``
    ((2, n_params), one raw gradient per worker)."""
    n = order.shape[0]
    dtype = params.dtype.type
    one = dtype(1.0)
    n_layers = units.shape[0] - 1
    n_out = units[n_layers]
    cap = (batch_size + 1) // 2
    _, bias_off, act_off, size = layout(units, cap)
    n_coef = bias_off[0]
    # this worker's share of the parameters: [lo, hi), its weights first
    lo = 0 if worker == 0 else params.shape[0] // 2
    hi = params.shape[0] // 2 if worker == 0 else params.shape[0]
    own_coef = max(0, min(hi, n_coef) - lo)
    acts = np.empty(size, dtype=params.dtype)
    dacts = np.empty(size, dtype=params.dtype)
    deltas = np.empty(size, dtype=params.dtype)
    xb = np.empty((cap, units[0]), dtype=params.dtype)
    yb = np.empty((cap, n_out), dtype=params.dtype)
    swb = np.empty(cap, dtype=params.dtype)
    no_drop = np.zeros(n_layers - 1)
    grad, total_grad, other_grad = grads[worker], grads[0], grads[1]
    total = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        nb = stop - start
        half = (nb + 1) // 2
        r0 = start if worker == 0 else start + half
        r1 = start + half if worker == 0 else stop
        k = r1 - r0
        sw_sum = 0.0
        for r in range(start, stop):
            sw_sum += SW[order[r]]
        if k == 0:  # a one-row batch: worker 1 has no rows
            grad[:] = 0.0
            shared[worker] = 0.0
        else:
            rows = order[r0:r1]
            gather_rows(xb, Xd, Xd[0], order[:0], order[:0], False, rows)
            for r in range(k):
                for j in range(n_out):
                    yb[r, j] = Y[rows[r], j]
                swb[r] = SW[rows[r]]
            x, y, sw = xb[:k], yb[:k], swb[:k]
            out = forward_pass(acts, dacts, x, params, units, cap, hidden_code, act_param,
                               out_code, no_drop, 0, r0)
            shared[worker] = loss_sum(out, y, sw, loss_code, loss_param)
            last = act_off[n_layers - 1]
            output_delta(deltas[last : last + k * n_out].reshape((k, n_out)), out, y, sw, one,
                         loss_code, loss_param)
            backward_pass(grad, deltas, acts, dacts, x, params, units, cap)
        if worker == 0:
            shared[2] = coef_sqnorm(params, units)  # before anyone steps
        _barrier(sync)
        if worker == 0:
            total += (shared[0] + shared[1] + 0.5 * alpha * shared[2]) / sw_sum * nb
        for q in range(lo, hi):
            total_grad[q] += other_grad[q]
        t += 1
        adam_step_raw(params[lo:hi], m[lo:hi], v[lo:hi], total_grad[lo:hi], own_coef, alpha,
                      dtype(sw_sum), dtype(adam_lr(lr, beta1, beta2, t)), beta1, beta2, eps)
        _barrier(sync)  # every parameter stepped before the next forward
    return total, t


def run_split(params, m, v, Xd, Y, SW, order, batch_size, units, *rest):
    """One epoch of split_epoch on two threads (this one is worker 0);
    ``rest`` is split_epoch's arguments from ``hidden_code`` on. Returns
    worker 0's (summed batch losses, t)."""
    sync = np.zeros(2, dtype=np.int64)
    shared = np.zeros(3)
    grads = np.empty((2, params.shape[0]), dtype=params.dtype)
    args = (sync, shared, grads, params, m, v, Xd, Y, SW, order, batch_size, units, *rest)
    helper = threading.Thread(target=split_epoch, args=(1, *args))
    helper.start()
    try:
        return split_epoch(0, *args)
    finally:
        helper.join()


def fit_seconds(w, prob, split, n_epochs=None):
    """Seconds of the workload's epochs on ``prob`` (its ``problem``; Adam,
    from fastnn's initial weights and the same row orders every call), and
    the last epoch's mean loss."""
    X, _, Y, SW, units, activation, out_code, loss_code, scalars = prob
    act_param, loss_param, alpha, lr, beta1, beta2, eps = scalars
    hidden = codes.ACTIVATIONS[activation]
    rng = np.random.RandomState(0)
    params = init_params(units, activation, rng, X.dtype.type)
    m, v = np.zeros_like(params), np.zeros_like(params)
    empty, no_index = X[0], np.empty(0, dtype=np.int64)
    t, loss = 0, None
    start = time.perf_counter()
    for _ in range(n_epochs or w.params["max_iter"]):
        order = rng.permutation(X.shape[0]).astype(np.int64)
        if split:
            with threadpool_limits(1):
                total, t = run_split(params, m, v, X, Y, SW, order, w.params["batch_size"],
                                     units, hidden, act_param, out_code, loss_code, loss_param,
                                     alpha, lr, beta1, beta2, eps, t)
        else:
            total, t = minibatch_epoch(
                params, m, v, X, empty, no_index, no_index, False, Y, SW, order,
                w.params["batch_size"], units, hidden, act_param, out_code, loss_code,
                loss_param, alpha, np.zeros(len(units) - 2), 0, codes.ADAM, lr, X.dtype.type(0),
                False, beta1, beta2, eps, t)
        loss = total / X.shape[0]
    return time.perf_counter() - start, loss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workloads", nargs="*", default=["W4", "W3-f64", "W3-f32"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    chosen = adam_workloads(args.workloads, "the split")
    for w in chosen:
        prob = problem(w)
        fit_seconds(w, prob, False, 1)  # compile both
        fit_seconds(w, prob, True, 1)
        one, two = [], []
        for _ in range(args.rounds):
            one.append(fit_seconds(w, prob, False))
            two.append(fit_seconds(w, prob, True))
        ratios = ", ".join(f"{a[0] / b[0]:.2f}" for a, b in zip(one, two))
        print(f"{w.name}: one worker (BLAS threads shared) "
              f"{', '.join(f'{s:.3f}' for s, _ in one)} s; two workers "
              f"{', '.join(f'{s:.3f}' for s, _ in two)} s; ratio per round {ratios}; "
              f"best against best {min(one)[0] / min(two)[0]:.2f}; "
              f"final loss {one[-1][1]:.6f} / {two[-1][1]:.6f}", flush=True)


if __name__ == "__main__":
    main()
