"""The mini-batch driver's worker threads (``compiled/pool.py`` says what
they do): how many an epoch call gets, starting them, and lending them
to one epoch call at a time.

A fit gets as many threads in all (its own and the workers) as BLAS
would use, up to ``MAX_THREADS``: ``min(usable cores (``_cache.usable_cores``:
the affinity, capped by a cgroup's CPU quota), BLAS's thread count,
MAX_THREADS)``, BLAS's count as threadpoolctl reads it, so the
knobs that hold BLAS to one thread (``threadpoolctl.threadpool_limits``,
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, joblib's workers) hold the
fit to its own thread too. During the call BLAS is held to one thread
(each member calls it on its own rows), and given back its count after.

The workers start with the first epoch call that gets some, once per
process (again in a child after a fork, which keeps only the thread that
forked), spin during a call (``serve``), linger a few milliseconds after
it for the next (a fit's epochs come microseconds apart), then sleep on
an event until a call wakes them. Calls in several
threads of a process take the team in turn, a whole epoch each; fits on
the other paths never wait for it, but any BLAS product they make
during another thread's epoch runs on one thread.
"""

import os
import threading
import time

import numpy as np

from ._cache import usable_cores

#: int64 slots of a line of the board (``compiled/pool.py``): line 0 the
#: job, a worker's its job number, state and last part claimed and, from
#: ``ANSWER`` (a cache line of its own), its answer.
SLOTS = 32
ANSWER = 24
#: The most threads a fit's epochs use. Measured on two cores only
#: (docs/performance.md); on more, BLAS's own threads may share a large
#: product better than rows per member, so more is left to a measurement
#: there.
MAX_THREADS = 2

#: The board (``compiled/pool.py``): one for the process, on its own cache
#: lines, since the epoch calls' arguments hold its address.
BOARD = np.zeros(MAX_THREADS * SLOTS + 8, dtype=np.int64)
BOARD = BOARD[-BOARD.ctypes.data % 64 // 8:][: MAX_THREADS * SLOTS]

_state = {}
_lock = threading.Lock()


def _reset_after_fork():
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    _state.pop("team", None)  # its threads did not come along
    BOARD[:] = 0  # nor did any job on it


os.register_at_fork(after_in_child=_reset_after_fork)


def _blas():
    """threadpoolctl's controllers of the BLAS the kernels call (numba
    calls scipy's), found once a process: the libraries loaded from
    scipy's own directories (a wheel's), else every BLAS loaded (one
    library shared by numpy and scipy). NumPy's own BLAS in a wheel is
    left alone: its threads, woken by each change of their count after a
    fit of scikit-learn's had used them, took the workers' core (a W4 fit
    0.46 s, then 0.9-1.1 s after one of scikit-learn's, when both were
    held)."""
    libs = _state.get("blas")
    if libs is None:
        import scipy
        from threadpoolctl import ThreadpoolController

        blas = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        home = os.path.dirname(os.path.realpath(scipy.__file__))
        libs = [c for c in blas if os.path.realpath(c.filepath).startswith(home)]
        libs = _state["blas"] = libs or blas
    return libs


def _size(counts):
    """The workers an epoch call gets where the kernels' BLAS libraries
    have ``counts`` threads."""
    if not counts:
        return 0
    return max(0, min(usable_cores(), min(counts), MAX_THREADS) - 1)


def team_size():
    """The workers (besides the fit's own thread) an epoch call gets now."""
    return _size([c.num_threads for c in _blas()])


class _Team:
    """The process's worker threads (``MAX_THREADS - 1``), each running
    ``serve`` (the C function at ``address``) from the epoch call that
    wakes it until it leaves, lingering between calls (``compiled/pool.py``)."""

    def __init__(self, address):
        import ctypes

        self.serve = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int64, ctypes.c_int64,
                                      ctypes.c_int64)(address)
        self.wake = [threading.Event() for _ in range(MAX_THREADS - 1)]
        self.threads = [threading.Thread(target=self._work, args=(w,), daemon=True,
                                         name=f"fastnn-worker-{w}")
                        for w in range(1, MAX_THREADS)]
        for t in self.threads:
            t.start()

    def _work(self, w):
        wake, board = self.wake[w - 1], BOARD.ctypes.data
        while True:
            wake.wait()
            wake.clear()
            self.serve(board, w, 0)  # releases the GIL; back when it has lingered out

    def claim(self, nw):
        """Workers 1 to ``nw`` for an epoch call: those lingering from the
        last are kept, the others woken."""
        asleep = int(self.serve(BOARD.ctypes.data, -1, nw))
        for w in range(1, nw + 1):
            if asleep >> (w - 1) & 1:
                self.wake[w - 1].set()


def last_size():
    """The workers the last epoch call in this process got (None before
    the first)."""
    return _state.get("last")


def _leave(nw):
    """Send workers 1..nw out of ``serve`` from here, where the epoch call
    did not (it failed before its kernel ran), and wait until they are."""
    for w in range(1, nw + 1):
        seq = abs(int(BOARD[w * SLOTS])) + 1
        BOARD[w * SLOTS] = -seq  # one aligned store: the request is whole
        while int(BOARD[w * SLOTS + ANSWER]) != seq:
            time.sleep(0)


def run(call, serve):
    """``call(nw)``, an epoch call told the number of workers it has,
    those ``nw`` threads serving the board meanwhile; ``serve`` is the
    address of the workers' loop (``compiled/pool.py``; not an int where
    the kernels run as Python: then no workers)."""
    if not isinstance(serve, int):
        _state["last"] = 0
        return call(0)
    with _lock:
        libs = _blas()
        counts = [c.num_threads for c in libs]
        nw = _state["last"] = _size(counts)
        if nw > 0:
            team = _state.get("team")
            if team is None:  # one a process: serve is one unit, loaded once
                team = _state["team"] = _Team(serve)
            for c in libs:
                c.set_num_threads(1)
            claimed = done = False
            try:
                team.claim(nw)
                claimed = True
                result = call(nw)
                done = True
                return result
            finally:
                if claimed and not done:
                    _leave(nw)
                for c, n in zip(libs, counts):
                    c.set_num_threads(n)
    return call(0)
