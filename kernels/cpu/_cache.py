"""Getting compiled kernels ready: from numba's on-disk cache where they
are there, by compiling them once where they are not, and saying so.

A *unit* is one thing numba compiles and caches on its own: a component
(``_jit.component``) or a driver's specialization. ``ensure`` readies the
units a kernel call needs before the call runs:

- Each unit is readied under a lock of its own, shared by every process
  using the same cache (a byte of one lock file next to the cache, locked
  with POSIX record locks): processes that meet a cold cache at once (the
  workers of a grid search) compile each unit once; the others wait for
  it, then load it. The operating system drops a dead process's locks, so
  a compile killed at any moment leaves no stale lock, and numba writes
  each cache file whole (to a temporary name, then renamed), so it leaves
  no half-written entry either. A wait longer than ``WAIT_SECONDS`` gives
  up the lock and compiles here.
- The first time in a process that a unit really compiles (a cache miss,
  not a load), one line on stderr says what is compiled, about how long it
  takes, where the cache lives and how to compile ahead.
- ``reporting(callback)`` lets the estimators show compiles in their own
  output (``verbose``, ``progress``).
"""

import os
import sys
import threading
import time
import warnings
import zlib
from contextlib import contextmanager

from numba.core import event

#: How long a process waits for another one's compile of a unit before it
#: compiles the unit itself (seconds; FASTNN_COMPILE_WAIT overrides).
WAIT_SECONDS = float(os.environ.get("FASTNN_COMPILE_WAIT", 600))

#: What readying a unit of each kind costs when it compiles, in seconds on
#: a 2-core Xeon (for the notice's estimate; a cache load takes
#: milliseconds).
COMPILE_SECONDS = {"driver": 1.0, "component": 0.4}

WARMUP_HINT = "python -m fastnn warmup"

_lock = threading.RLock()  # one thread readies units at a time
_ready = set()  # units ready in this process
_state = {"noticed": False, "locks": None}
_compiled = []  # the units this process compiled (not loaded), in order
_local = threading.local()


def _reset_after_fork():
    global _lock
    _lock = threading.RLock()
    _state["locks"] = None  # record locks are not inherited; the file is reopened


os.register_at_fork(after_in_child=_reset_after_fork)


def silence_notice():
    """No compile notice from this process (the warm-up, which reports
    itself)."""
    _state["noticed"] = True


def compiled_units():
    """The units this process compiled so far (cache misses, in order)."""
    return list(_compiled)


def cache_dir():
    """The directory numba caches fastnn's CPU kernels in (None when numba
    found no usable one)."""
    from .epochs import minibatch_epoch

    try:
        return minibatch_epoch._cache._cache_path
    except AttributeError:  # no cache for this dispatcher
        return None


@contextmanager
def reporting(callback):
    """Call ``callback(what, seconds)`` in this thread while the block runs:
    with ``seconds`` None when units start compiling (``what`` says which),
    then with the seconds they took, once the kernel call's units are
    ready."""
    previous = getattr(_local, "callback", None)
    _local.callback = callback
    try:
        yield
    finally:
        _local.callback = previous


class _Locks:
    """One byte of one lock file per unit (POSIX record locks: per process,
    released by the system when the process dies)."""

    def __init__(self, directory):
        import fcntl

        self.fcntl = fcntl
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "fastnn-compile.lock")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)

    def acquire(self, name, timeout):
        """True once the lock of ``name`` is held; False after ``timeout``
        seconds of another process holding it."""
        offset = zlib.crc32(name.encode())
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.fcntl.lockf(self.fd, self.fcntl.LOCK_EX | self.fcntl.LOCK_NB, 1, offset)
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)

    def release(self, name):
        self.fcntl.lockf(self.fd, self.fcntl.LOCK_UN, 1, zlib.crc32(name.encode()))


def _locks():
    """The lock file of the cache, opened once per process (None where
    there is no cache directory to put it in, or no record locks)."""
    if _state["locks"] is None:
        directory = cache_dir()
        try:
            _state["locks"] = _Locks(directory) if directory else False
        except (ImportError, OSError):  # no fcntl (Windows), or a read-only cache
            _state["locks"] = False
    return _state["locks"] or None


class _CompileWatch(event.Listener):
    """Numba runs compiler passes only when it compiles (a cache load runs
    none): the first pass started is the sign of a miss."""

    def __init__(self, on_first):
        self.on_first = on_first
        self.compiled = False

    def on_start(self, ev):
        if not self.compiled:
            self.compiled = True
            self.on_first()

    def on_end(self, ev):
        pass


def ensure(units, what):
    """Ready ``units``, a list of ``(key, lock, kind, make)``: ``make()``
    compiles or loads the unit ``key`` names, under the lock named ``lock``
    (one per cache index file: what numba caches in one file must not be
    written by two processes at once); ``kind`` is a key of
    COMPILE_SECONDS. ``what()`` says in words what they are, for the
    notice. Units ready in this process are skipped at the cost of a set
    lookup."""
    pending = [u for u in units if u[0] not in _ready]
    if not pending:
        return
    with _lock:
        pending = [u for u in pending if u[0] not in _ready]
        started = [None]
        estimate = sum(COMPILE_SECONDS[kind] for _, _, kind, _ in pending)

        def on_first_compile():  # of each unit that compiles: act on the first
            if started[0] is not None:
                return
            started[0] = time.perf_counter()
            if not _state["noticed"]:
                _state["noticed"] = True
                _notice(what(), estimate)
            callback = getattr(_local, "callback", None)
            if callback is not None:
                callback(what(), None)

        for key, lock, kind, make in pending:
            watch = _CompileWatch(on_first_compile)
            locks = _locks()
            held = locks.acquire(lock, WAIT_SECONDS) if locks else False
            if locks and not held:
                warnings.warn(f"fastnn: waited {WAIT_SECONDS:.0f} s for another process to "
                              f"compile {lock}; compiling it here.", RuntimeWarning, 2)
            try:
                with event.install_listener("numba:run_pass", watch):
                    make()
            finally:
                if held:
                    locks.release(lock)
            if watch.compiled:
                _compiled.append(key)
            _ready.add(key)
        callback = getattr(_local, "callback", None)
        if started[0] is not None and callback is not None:
            callback(what(), time.perf_counter() - started[0])


def _notice(what, estimate):
    """The one line on stderr, the first time a process compiles."""
    where = cache_dir() or "memory only (numba found no cache directory)"
    sys.stderr.write(
        f"fastnn: compiling {what} for this machine, once (about "
        f"{max(1, round(estimate))} s); "
        f"later fits load them from {where}. To compile every kernel ahead: {WARMUP_HINT}\n")
    sys.stderr.flush()
