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

Where the cache lives, and when it is not used (``kernel_cache``)
------------------------------------------------------------------

The cache is an optimization, never a point of failure. fastnn picks one
directory for the process: ``NUMBA_CACHE_DIR`` (under it, numba's
subdirectory for this package) when that is set; else the package's own
``__pycache__``, then numba's user-wide directory (``~/.cache/numba``).
A cache entry is a pickle, and loading one runs code, so a directory is
used only if it is *safe*: owned by this user or by root, and writable
by no one else (group or world), nor any directory above it (sticky ones
aside); files in it are loaded under the same rule, and an unsafe index
is replaced, never read. What fastnn creates is never group- or
world-writable, whatever the umask. A safe directory this process cannot
write (a cache prepared in a read-only image) is loaded from, and nothing
is written to it. With no
usable directory, kernels compile in memory. An entry that cannot be read
(truncated, corrupt, from another build) is a miss; one that cannot be
written (disk full) stays in memory. Each of these is said once per
process, as a RuntimeWarning.
"""

import hashlib
import os
import stat
import sys
import threading
import time
import types
import uuid
import warnings
import zlib
from contextlib import contextmanager

from numba.core import config, event
from numba.core.serialize import dumps
from numba.core.caching import (CompileResultCacheImpl, FunctionCache, IndexDataCacheFile,
                                NullCache, _CacheLocator, _SourceFileBackedLocatorMixin)

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
    """The directory fastnn's CPU kernels are cached in (None when there is
    no usable one: they compile in memory)."""
    return _store()[0]


def cache_writable():
    """Whether kernels compiled here are kept in ``cache_dir()``."""
    return _store()[1]


def _warn_once(key, message):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(f"fastnn: {message}", RuntimeWarning, stacklevel=3)


_warned = set()


def unsafe(path, parents=False):
    """Why ``path`` (a file or directory) must not be loaded from, or None:
    another user (root aside) owns it or may write to it; with
    ``parents``, or any directory above it (where another user could put
    a directory of their own in its place), a sticky one (/tmp) aside."""
    st = os.stat(path)
    if st.st_uid not in (os.getuid(), 0):
        return f"{path} belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return f"{path} is writable by other users (mode {st.st_mode & 0o777:o})"
    parent = os.path.dirname(os.path.abspath(path))
    while parents and parent != os.path.dirname(parent):
        st = os.stat(parent)
        if st.st_uid not in (os.getuid(), 0) or (st.st_mode & 0o022
                                                 and not st.st_mode & stat.S_ISVTX):
            return f"{parent}, above {path}, is writable by other users"
        parent = os.path.dirname(parent)
    return None


def _writable(directory):
    try:
        import tempfile

        tempfile.TemporaryFile(dir=directory).close()
        return True
    except OSError:
        return False


def _choose_store():
    """``(directory, writable)`` for this process's cache, or ``(None,
    False)``; see the module's docstring."""
    here = os.path.dirname(os.path.abspath(__file__))
    subpath = _CacheLocator.get_suitable_cache_subpath(__file__)
    if config.CACHE_DIR:
        candidates = [os.path.join(config.CACHE_DIR, subpath)]
    else:
        from numba.misc.appdirs import AppDirs

        user_dir = AppDirs(appname="numba", appauthor=False).user_cache_dir
        candidates = [os.path.join(here, "__pycache__"), os.path.join(user_dir, subpath)]
    reasons = []
    for directory in candidates:
        try:
            _makedirs(directory)
        except OSError:
            pass
        try:
            if not os.path.isdir(directory):
                reasons.append(f"{directory} cannot be created")
                continue
            why = unsafe(directory, parents=True)
            if why:
                reasons.append(why)
                continue
            if _writable(directory):
                return directory, True
            if any(name.endswith(".nbi") for name in os.listdir(directory)):
                return directory, False  # a prepared, read-only cache
            reasons.append(f"{directory} is read-only and holds no kernels")
        except OSError as exc:  # unreadable: not a cache to use
            reasons.append(f"{directory}: {exc}")
    if any("other user" in r for r in reasons) or config.CACHE_DIR:
        # Said once: not the quiet case of a read-only install without a home.
        _warn_once("store", "not using a kernel cache (" + "; ".join(reasons) + "): kernels "
                   "compile in memory, in every process. A folder of yours that others can "
                   "write is used again after `chmod go-w` on it (and on the folders above "
                   "it); see the README's section on the kernel cache.")
    return None, False


def _makedirs(path):
    """``os.makedirs`` with every folder it creates writable by this user
    only, whatever the umask (002 would make them group-writable, and so
    never loaded from)."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent != path:
        _makedirs(parent)
    try:
        os.mkdir(path, 0o755)  # the umask can only take bits away
    except FileExistsError:
        pass


def _store():
    if "store" not in _state:
        _state["store"] = _choose_store()
    return _state["store"]


class _Locator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """numba's cache locator for fastnn's kernels: the directory ``_store``
    chose."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = _store()[0]

    def get_cache_path(self):
        return self._cache_path

    def ensure_cache_path(self):
        if not _store()[1]:
            raise OSError(f"{self._cache_path} is read-only")

    @classmethod
    def from_function(cls, py_func, py_file):
        return cls(py_func, py_file) if _store()[0] and os.path.exists(py_file) else None


class _Impl(CompileResultCacheImpl):
    _locator_classes = [_Locator]


class _KernelCacheFile(IndexDataCacheFile):
    """numba's index and data files, created with mode 644 (less, by the
    umask): never group- or world-writable, so always loadable (see
    ``unsafe``); numba's own follow the umask, and 002 is common. Written
    to a temporary name and renamed, as numba does."""

    @contextmanager
    def _open_for_write(self, filepath):
        tmpname = f"{filepath}.tmp.{uuid.uuid4().hex[:16]}"
        fd = os.open(tmpname, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as f:
                fd = None
                yield f
            os.replace(tmpname, filepath)
        except BaseException:
            if fd is not None:
                os.close(fd)
            try:
                os.unlink(tmpname)
            except OSError:
                pass
            raise


class _KernelCache(FunctionCache):
    """numba's cache of one kernel, where an entry that cannot be read or
    written is a miss, and files unsafe to load are not loaded."""

    _impl_class = _Impl

    def __init__(self, py_func):
        super().__init__(py_func)
        files = self._cache_file
        self._cache_file = _KernelCacheFile(files._cache_path, self._impl.filename_base,
                                            files._source_stamp)

    def _index_key(self, sig, codegen):
        """numba's key, with a closure's compiled functions (a component's
        formulas, see ``_jit.inline``) named by their module, name and code
        rather than pickled: a dispatcher pickles with a per-process id, so
        numba's own key would never match in another process; and a
        formula's edit changes the key of the components compiled with it."""
        closure = self._py_func.__closure__
        if closure is None or not any(_is_dispatcher(c.cell_contents) for c in closure):
            return super()._index_key(sig, codegen)
        cells = tuple(_formula_key(c.cell_contents) if _is_dispatcher(c.cell_contents)
                      else c.cell_contents for c in closure)
        code = self._py_func.__code__.co_code
        return (sig, codegen.magic_tuple(),
                (hashlib.sha256(code).hexdigest(), hashlib.sha256(dumps(cells)).hexdigest()))

    def load_overload(self, sig, target_context):
        files = self._cache_file
        try:
            for path in (files._index_path, *(files._data_path(n) for n in _data_names(files))):
                why = unsafe(path) if os.path.exists(path) else None
                if why:
                    _warn_once(("unsafe", self._cache_path), f"not loading kernels from the "
                               f"cache: {why}. Compiling them in memory.")
                    return None
            return super().load_overload(sig, target_context)
        except Exception as exc:  # truncated, corrupt, unreadable
            _warn_once(("load", self._cache_path), f"a kernel cache entry in "
                       f"{self._cache_path} could not be read ({type(exc).__name__}: {exc}); "
                       "compiling it in memory. Delete the damaged files, or run "
                       f"{WARMUP_HINT}, to rebuild them.")
            return None

    def save_overload(self, sig, data):
        if not _store()[1]:
            return  # a read-only cache: the kernel stays in memory
        try:
            index = self._cache_file._index_path
            if os.path.exists(index) and unsafe(index):
                # Saving reads the index first: never an unsafe one.
                self._cache_file._save_index({})
            try:
                super().save_overload(sig, data)
            except OSError:
                raise
            except Exception:  # an unreadable index (the entry was a miss): start it afresh
                self._cache_file._save_index({})
                super().save_overload(sig, data)
        except Exception as exc:  # disk full, permissions changed
            _warn_once(("save", self._cache_path), f"a kernel could not be written to the "
                       f"cache in {self._cache_path} ({type(exc).__name__}: {exc}); it stays "
                       "in memory for this process.")


def _is_dispatcher(value):
    return hasattr(value, "py_func") and hasattr(value, "targetoptions")


def _formula_key(dispatcher):
    """A compiled formula as its module, name and code (bytecode and
    constants)."""
    f = dispatcher.py_func
    code = f.__code__
    consts = tuple(c for c in code.co_consts if not isinstance(c, types.CodeType))
    return (f.__module__, f.__qualname__, code.co_code, repr(consts))


def _data_names(files):
    """The data files the index of ``files`` (numba's IndexDataCacheFile)
    names, without loading anything but its file names."""
    prefix = files._index_name[: -len(".nbi")] + "."
    try:
        names = os.listdir(files._cache_path)
    except OSError:
        return []
    return [n for n in names if n.startswith(prefix) and n.endswith(".nbc")]


def kernel_cache(py_func):
    """The cache of the kernel ``py_func``: a ``_KernelCache`` in this
    process's directory, or none (``NullCache``)."""
    if _store()[0] is None:
        return NullCache()
    try:
        cache = _KernelCache(py_func)
    except Exception as exc:
        _warn_once(("cache", type(exc)), f"kernels compile in memory: {exc}")
        return NullCache()
    if not isinstance(cache._impl.locator, _Locator):  # NUMBA_CACHE_LOCATOR_CLASSES chose
        _warn_once("locator", "NUMBA_CACHE_LOCATOR_CLASSES replaces fastnn's checked cache "
                   "directory; fastnn's kernels compile in memory.")
        return NullCache()
    return cache


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
    where = cache_dir()
    if where is None:
        later = "no usable cache directory, so every process compiles them"
    elif not cache_writable():
        later = f"the cache in {where} is read-only, so every process compiles them"
    else:
        later = f"later fits load them from {where}"
    once = ", once" if where is not None and cache_writable() else ""
    sys.stderr.write(
        f"fastnn: compiling {what} for this machine{once} (about "
        f"{max(1, round(estimate))} s); {later}. To compile every kernel ahead: "
        f"{WARMUP_HINT}\n")
    sys.stderr.flush()
