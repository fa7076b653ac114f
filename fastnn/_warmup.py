"""Compile every kernel a fit can meet ahead of time, into the kernel cache:
``fastnn.warmup()`` and ``python -m fastnn warmup``.

The work is split over worker processes (numba compiles one function at a
time in a process): each takes the next task (``kernels.cpu._warmup``) as
it finishes one, and the units two tasks share are compiled once, under
the cache's locks, the other worker loading them.
"""

import multiprocessing
import operator
import sys
import time


def _worker_run(task):
    from .kernels.cpu import _warmup

    return _warmup.run(task)


def checked_shapes(shapes):
    """``shapes`` (sequences of ints) as tuples, checked: a ValueError
    names the first that has no per-sample driver of its own."""
    from .kernels.cpu.epochs import SHAPED_LAYERS, shaped

    checked = []
    for units in shapes:
        try:
            units = tuple(operator.index(u) for u in units)
        except TypeError:
            raise ValueError(f"a per-sample shape is a sequence of ints, got {units!r}") from None
        if not shaped(units) or min(units) < 1:
            raise ValueError(f"per-sample shape {units!r}: the widths from inputs to outputs, "
                             f"each at least 1, with 1 to {SHAPED_LAYERS} hidden layers")
        checked.append(units)
    return checked


def warmup(n_jobs=None, dtypes=("float64", "float32"), verbose=True, file=None,
           per_sample_shapes=()):
    """Compile, into the on-disk kernel cache, every kernel a fit or a
    prediction can need: both float dtypes (or those of ``dtypes``), every
    activation (with and without dropout), loss and solver, dense and
    sparse input, the mini-batch and per-sample epochs, L-BFGS, prediction
    and the validation loss. Kernels already cached are loaded, not
    compiled again.

    ``per_sample_shapes``: networks whose ``batch_size=1`` fits on dense
    input should find the per-sample driver made for their shape ready
    (a fit otherwise runs the shared driver and has a helper process make
    its shape's for the fits after it: not where the cache is read-only),
    each as its widths from the inputs to the outputs, e.g. ``(20, 64,
    3)`` for 20 features, one hidden layer of 64 units and three classes
    (one output for two classes or one target). Only networks of 1 to
    ``kernels.cpu.epochs.SHAPED_LAYERS`` hidden layers have such a driver
    (else a ValueError, see ``checked_shapes``).

    ``n_jobs`` worker processes share the work (default: the usable cores,
    at most 4). With ``verbose``, one line per task and a summary go to
    ``file`` (default stdout). Returns a dict: ``compiled`` (the units
    compiled), ``tasks``, ``seconds``, ``cache_dir``, ``n_jobs``.
    """
    from .kernels.cpu import _cache, _warmup

    out = sys.stdout if file is None else file
    tasks = _warmup.tasks(tuple(dtypes), checked_shapes(per_sample_shapes))
    if n_jobs is None:
        n_jobs = max(1, min(4, _cache.usable_cores()))
    where = _cache.cache_dir()
    if where is None:
        where_said = "none (no usable cache directory: nothing will be kept)"
    elif not _cache.cache_writable():
        where_said = f"{where} (read-only: what is compiled here is not kept)"
    else:
        where_said = where
    if verbose:
        print(f"fastnn warmup: {len(tasks)} kernel tasks on {n_jobs} process(es); cache: "
              f"{where_said}", file=out, flush=True)
    start = time.perf_counter()
    compiled = []
    if n_jobs == 1:
        results = map(_warmup.run, tasks)
    else:
        # spawn: a fresh interpreter per worker, safe whatever this process holds
        pool = multiprocessing.get_context("spawn").Pool(n_jobs)
        results = pool.imap_unordered(_worker_run, tasks)
    try:
        for task, units, seconds in results:
            compiled += units
            if verbose:
                state = f"compiled {len(units)}" if units else "cached"
                print(f"  {_warmup.describe(task):40s} {state:11s} {seconds:6.2f} s", file=out,
                      flush=True)
    finally:
        if n_jobs > 1:
            pool.close()
            pool.join()
    seconds = time.perf_counter() - start
    if verbose:
        print(f"fastnn warmup: {len(compiled)} kernels compiled, the others loaded from the "
              f"cache, in {seconds:.1f} s; cache: {where_said}", file=out, flush=True)
    return {"compiled": compiled, "tasks": len(tasks), "seconds": seconds, "cache_dir": where,
            "n_jobs": n_jobs}
