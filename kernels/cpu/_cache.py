"""Getting compiled units ready: loaded from the on-disk cache where they
are there, compiled once where they are not, and saying so.

A *unit* is one thing compiled and kept on its own: a component or a
driver's entry (see ``compiled/_jit.py``), kept as LLVM's object file of
it and loaded by ``_native`` without numba. ``ensure`` readies the units a
kernel call needs before the call runs:

- Each unit is readied under a lock of its own, shared by every process
  using the same cache (a byte of one lock file next to the cache, locked
  with POSIX record locks): processes that meet a cold cache at once (the
  workers of a grid search) compile each unit once; the others wait for
  it, then load it. The operating system drops a dead process's locks, so
  a compile killed at any moment leaves no stale lock, and each unit's
  file is written whole (to a temporary name, then renamed), so it leaves
  no half-written entry either. A wait longer than ``WAIT_SECONDS`` gives
  up the lock and compiles here.
- A process with several units to compile on a machine with a second
  core hands some of them to a helper process (``_helper``, ``plan``):
  numba compiles one function at a time in a process, so the default
  fit's first compile takes about two thirds of its time alone.
- The first time in a process that a unit really compiles (a cache miss,
  not a load), one line on stderr says what is compiled, about how long it
  takes, where the cache lives and how to compile ahead.
- ``reporting(callback)`` lets the estimators show compiles in their own
  output (``verbose``, ``progress``).

Where the cache lives, and when it is not used
----------------------------------------------

The cache is an optimization, never a point of failure. fastnn picks one
directory for the process: ``NUMBA_CACHE_DIR/fastnn-kernels`` when
``NUMBA_CACHE_DIR`` is set; else the package's own ``__pycache__``, then
``fastnn-kernels`` in numba's user-wide directory (``~/.cache/numba``).
Under it, the units of one build (``build_key``: these kernels' sources,
numba's and llvmlite's versions, the CPU, numba's settings) are in a
folder of their own, so an upgrade or another machine never loads
another build's code. A cache entry is machine code, and loading one runs
it, so a directory is used only if it is *safe*: owned by this user or by
root, and writable by no one else (group or world), nor any directory
above it (sticky ones aside); files in it are loaded under the same rule.
What fastnn creates is never group- or world-writable, whatever the
umask. A safe directory this process cannot write (a cache prepared in a
read-only image) is loaded from, and nothing is written to it. With no
usable directory, kernels compile in memory. An entry that cannot be read
(truncated, corrupt, from another build) is a miss; one that cannot be
written (disk full) stays in memory. Each of these is said once per
process, as a RuntimeWarning.
"""

import hashlib
import importlib.metadata
import os
import stat
import sys
import threading
import time
import uuid
import warnings
import zlib
from contextlib import contextmanager

from . import _native

#: How long a process waits for another one's compile of a unit before it
#: compiles the unit itself (seconds; FASTNN_COMPILE_WAIT overrides).
WAIT_SECONDS = float(os.environ.get("FASTNN_COMPILE_WAIT", 600))

#: What compiling a unit of each kind (``"driver"``, an entry, or a
#: component's factory) costs once numba runs, in seconds on a 2-core
#: EPYC, for the notice's estimate and for ``plan`` (a cache load takes
#: milliseconds).
COMPILE_SECONDS = {"driver": 1.1, "layer_component": 0.2, "head_component": 0.75,
                   "step_component": 0.4, "csr_component": 0.4, "serve_component": 0.7}

#: What a process pays before its first compile: numba's import and
#: first compile (``NUMBA_START``); a helper's interpreter and imports on
#: top (``HELPER_START``).
NUMBA_START, HELPER_START = 0.4, 0.75

WARMUP_HINT = "python -m fastnn warmup"

#: The environment variable that caps a cold compile's processes (1: no
#: helper; see ``plan``).
JOBS_VARIABLE = "FASTNN_COMPILE_JOBS"

_lock = threading.RLock()  # one thread readies units at a time
_ready = {}  # units ready in this process: name -> (address, header)
_state = {"noticed": False, "locks": None, "helper": True, "background": True, "running": None}
_compiled = []  # the units compiled for this process (not loaded), in order
_helped = []  # those of them its helpers compiled
_asked = set()  # the units this process asked a background helper for
_local = threading.local()


def _reset_after_fork():
    global _lock
    _lock = threading.RLock()
    _state["locks"] = None  # record locks are not inherited; the file is reopened
    _state["running"] = None  # the parent's background compile is the parent's


os.register_at_fork(after_in_child=_reset_after_fork)


def silence_notice():
    """No compile notice from this process (the warm-up, which reports
    itself)."""
    _state["noticed"] = True


def no_helper():
    """Compile every unit in this process (a warm-up worker: the warm-up
    shares its work between processes itself)."""
    _state["helper"] = False


def no_background():
    """Start no background compile from this process (``background``), and
    run none of the drivers they make: a call with a fallback runs the
    fallback (``_calls.bind``; for the test suite, which counts the units
    its fits use)."""
    _state["background"] = False


def background_on():
    """False after ``no_background``, but within ``background_here``."""
    return _state["background"] or getattr(_local, "here", False)


def compiled_units():
    """The units compiled for this process so far (cache misses, in
    order), by itself or by its cold compile's helper (``helper_units``);
    not those a background helper made (``background``), which the
    process loads later."""
    return list(_compiled)


def helper_units():
    """The units of ``compiled_units()`` that a helper process compiled."""
    return list(_helped)


def ready_units():
    """The units ready in this process (loaded or compiled), by name."""
    return sorted(_ready)


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


def _user_cache_dir():
    """numba's user-wide cache directory (as its ``appdirs`` names it)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "numba")


def _choose_store():
    """``(directory, writable)`` for this process's cache, or ``(None,
    False)``; see the module's docstring."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        candidates = [os.path.join(env, "fastnn-kernels")]
    else:
        candidates = [os.path.join(here, "__pycache__"),
                      os.path.join(_user_cache_dir(), "fastnn-kernels")]
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
            build = os.path.join(directory, build_key())
            why = unsafe(directory, parents=True) or (os.path.isdir(build) and unsafe(build))
            if why:
                reasons.append(why)
                continue
            if _writable(directory):
                return directory, True
            if os.path.isdir(build):
                return directory, False  # a prepared, read-only cache
            reasons.append(f"{directory} is read-only and holds no kernels of this build")
        except OSError as exc:  # unreadable: not a cache to use
            reasons.append(f"{directory}: {exc}")
    if any("other user" in r for r in reasons) or env:
        # Said once: not the quiet case of a read-only install without a home.
        _warn_once("store", "not using a kernel cache (" + "; ".join(reasons) + "): kernels "
                   "compile in memory, in every process. A folder of yours that others can "
                   "write is used again after `chmod go-w` on it (and on the folders above "
                   "it); see the README's section on the kernel cache.")
    return None, False


#: numba's settings that change the machine code it makes (others, such
#: as NUMBA_NUM_THREADS, which joblib sets in its workers, do not).
_CODEGEN_SETTINGS = tuple("NUMBA_" + name for name in (
    "OPT", "LOOP_VECTORIZE", "SLP_VECTORIZE", "ENABLE_AVX", "CPU_NAME", "CPU_FEATURES",
    "BOUNDSCHECK", "DEBUGINFO", "EXTEND_VARIABLE_LIFETIMES", "LLVM_REFPRUNE_PASS",
    "LLVM_REFPRUNE_FLAGS", "DISABLE_INTEL_SVML", "USE_RVSDG_FRONTEND", "ENABLE_PROFILING"))


def build_key():
    """What the machine code of this build depends on, as a folder name:
    the kernels' sources (every file of ``kernels/`` but the GPU's), the
    versions of numba, llvmlite and Python, the CPU compiled for, and
    numba's settings that change its code (``_CODEGEN_SETTINGS``)."""
    if "build" not in _state:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        digest = hashlib.sha256()
        for folder, dirs, files in sorted(os.walk(root)):
            dirs[:] = sorted(d for d in dirs if d not in ("cuda", "__pycache__"))
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as f:
                    digest.update(hashlib.sha256(f.read()).digest())
        settings = sorted((k, os.environ[k]) for k in _CODEGEN_SETTINGS if k in os.environ)
        digest.update(repr((importlib.metadata.version("numba"),
                            importlib.metadata.version("llvmlite"), sys.version,
                            _native.host_cpu(), settings)).encode())
        _state["build"] = digest.hexdigest()[:20]
    return _state["build"]


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


def ensure(units, what, build):
    """Ready ``units``, a list of ``(name, kind, recipe)``: the unit ``name``
    (a file name) is loaded from the cache, or made by ``build(recipe)``,
    which compiles it and returns ``(symbol, object file, header)`` (see
    ``_native.unit_bytes``), then kept in the cache and loaded; ``kind`` is
    a key of COMPILE_SECONDS, ``recipe`` a picklable description (a
    helper process may build it, see ``plan``). ``what()`` says in words
    what they are, for the notice. Returns each unit's ``(address,
    header)``. Units ready in this process cost a dict lookup."""
    if any(name not in _ready for name, _, _ in units):
        with _lock:
            _ensure([u for u in units if u[0] not in _ready], what, build)
    return [_ready[name] for name, _, _ in units]


def _ensure(pending, what, build):
    for name, _, _ in pending:
        loaded = _read(name)
        if loaded is not None:
            _ready[name] = loaded
    pending = [u for u in pending if u[0] not in _ready]
    if not pending:
        return
    here, there, estimate = plan(pending)
    helper, locks = None, _locks()
    # One helper per cold cache: the workers of a grid search meeting it
    # at once share the units through their locks, and one helper is
    # enough to fill the second core.
    helping = f"helper-{build_key()}"
    if there and (locks is None or locks.acquire(helping, 0)):
        from . import _helper

        helper = _helper.start(there)
        if helper is None and locks is not None:
            locks.release(helping)
    if helper is None:
        here, there = pending, []
    started = time.perf_counter()
    _first_compile(what, estimate)
    try:
        for unit in here:
            _ready_one(unit, build)
        if helper is not None:
            made = helper.finish(WAIT_SECONDS)
            _compiled.extend(made)
            _helped.extend(made)
        for unit in there:  # loaded from the helper's work, or compiled here if it failed
            _ready_one(unit, build)
    finally:
        if helper is not None:
            helper.stop()
            if locks is not None:
                locks.release(helping)
    callback = getattr(_local, "callback", None)
    if callback is not None:
        callback(what(), time.perf_counter() - started)


def _ready_one(unit, build):
    """Load ``unit`` from the cache, or compile it under its lock."""
    name, _, recipe = unit
    locks = _locks()
    held = locks.acquire(name, WAIT_SECONDS) if locks else False
    if locks and not held:
        warnings.warn(f"fastnn: waited {WAIT_SECONDS:.0f} s for another process to "
                      f"compile {name}; compiling it here.", RuntimeWarning, 4)
    try:
        loaded = _read(name)  # made by another process (or a helper) meanwhile
        if loaded is None:
            data = _native.unit_bytes(*build(recipe))
            _write(name, data)
            loaded = _native.load(data)
            if loaded is None:
                raise RuntimeError(f"fastnn: the kernel {name} compiled here could "
                                   "not be loaded")
            _compiled.append(name)
    finally:
        if held:
            locks.release(name)
    _ready[name] = loaded


def usable_cores():
    """The cores this process may run on: its CPU affinity, capped by a
    cgroup's CPU quota (a container's ``--cpus``)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cores


def _helpers_allowed():
    """Whether this process may hand compiles to other processes: not with
    ``FASTNN_COMPILE_JOBS=1``, on one usable core, without a writable cache
    to hand the units over in, or in a process that is itself a helper or
    a warm-up worker."""
    try:
        jobs = int(os.environ.get(JOBS_VARIABLE, 2))
    except ValueError:
        jobs = 2
    return jobs >= 2 and _state["helper"] and cache_writable() and usable_cores() >= 2


def available(name):
    """Whether the unit ``name`` is ready in this process, loading it from
    the cache if it is there; never compiles. A miss takes no lock."""
    if name in _ready:
        return True
    if cache_dir() is None or not os.path.exists(_path(name)):
        return False
    with _lock:
        if name not in _ready:
            loaded = _read(name)
            if loaded is not None:
                _ready[name] = loaded
                _reap()  # most likely the background helper's unit: it is done
    return name in _ready


def _reap():
    """Forget this process's background helper if it has finished (its
    exit status collected, its pipe closed); under ``_lock``."""
    running = _state["running"]
    if running is not None and running.proc.poll() is not None:
        if running.proc.stdout is not None:
            running.proc.stdout.close()
        _state["running"] = None


def background(unit, build):
    """Have a helper process (``_helper``) compile ``unit`` (``(name, kind,
    recipe)``, as for ``ensure``) into the cache, without waiting for it:
    a later call finds it there (``available``). One at a time per
    process (a unit asked for while one runs is asked for again by its
    next call), once per unit (a helper that failed is not tried again),
    and only where a helper may run (``_helpers_allowed``) and
    ``no_background`` was not called, and not while another process holds
    the unit's lock (compiling it). The helper finishes its unit even if
    this process ends first. Within ``background_here``, the unit is
    compiled here and now instead, by ``build`` (as for ``ensure``)."""
    if getattr(_local, "here", False):
        ensure([unit], lambda: unit[0], build)
        return
    with _lock:
        _reap()
        if (_state["running"] is not None or unit[0] in _asked or not _state["background"]
                or not _helpers_allowed()):
            return
        locks = _locks()
        if locks is not None:
            # Another process compiles it (a grid search's other worker):
            # its unit will be in the cache; no second helper waits on it.
            if not locks.acquire(unit[0], 0):
                return
            locks.release(unit[0])
        from . import _helper

        _asked.add(unit[0])
        _state["running"] = _helper.start([unit])


@contextmanager
def background_here():
    """Within it, this thread compiles what it would hand a background
    helper (``background``) itself, at once: the warm-up's tasks for
    given network shapes."""
    _local.here = True
    try:
        yield
    finally:
        _local.here = False


def finish_background(timeout=WAIT_SECONDS):
    """Wait for this process's background compile, if one runs
    (``timeout`` seconds at most); returns the names of the units it
    compiled."""
    with _lock:
        running, _state["running"] = _state["running"], None
    return running.finish(timeout) if running is not None else []


def plan(pending):
    """``(here, there, seconds)``: the units of ``pending`` to compile in
    this process and those to hand a helper process (``_helper``), and
    about how long that takes. A helper costs a start of its own
    (``HELPER_START``), so it is used only where it saves a quarter of a
    second or more: a default fit's first compile, not a unit or two
    added later. None with ``FASTNN_COMPILE_JOBS=1``, on one usable core,
    or without a cache to hand the units over in."""
    start = 0.0 if "numba" in sys.modules else NUMBA_START
    costs = sorted(((COMPILE_SECONDS[kind], i) for i, (_, kind, _) in enumerate(pending)),
                   reverse=True)
    alone = start + sum(c for c, _ in costs)
    if len(pending) < 2 or not _helpers_allowed():
        return pending, [], alone
    loads, shares = [start, HELPER_START], [[], []]
    for cost, i in costs:  # the costliest first, each to the less loaded process
        k = loads.index(min(loads))
        loads[k] += cost
        shares[k].append(i)
    if not shares[1] or alone - max(loads) < 0.25:
        return pending, [], alone
    here, there = ([pending[i] for i in sorted(share)] for share in shares)
    return here, there, max(loads)


def _first_compile(what, estimate):
    if not _state["noticed"]:
        _state["noticed"] = True
        _notice(what(), estimate)
    callback = getattr(_local, "callback", None)
    if callback is not None:
        callback(what(), None)


def _path(name):
    return os.path.join(cache_dir(), build_key(), name + ".o")


def _read(name):
    """The unit ``name`` loaded from the cache, or None (a miss)."""
    if cache_dir() is None:
        return None
    path = _path(name)
    try:
        if not os.path.exists(path):
            return None
        why = unsafe(path)
        if why:
            _warn_once(("unsafe", cache_dir()), f"not loading kernels from the cache: {why}. "
                       "Compiling them in memory.")
            return None
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        data, why = None, f"{type(exc).__name__}: {exc}"
    loaded = _native.load(data) if data is not None else None
    if loaded is None:
        _warn_once(("load", cache_dir()), f"a kernel cache entry in {os.path.dirname(path)} "
                   f"could not be read ({why if data is None else 'not a kernel of this build'}"
                   f"); compiling it in memory. Delete the damaged files, or run "
                   f"{WARMUP_HINT}, to rebuild them.")
    return loaded


def _write(name, data):
    """Keep the unit ``name`` (its file's ``data``) in the cache."""
    if not cache_writable():
        return
    path = _path(name)
    try:
        _makedirs(os.path.dirname(path))
        _write_whole(path, data)
    except Exception as exc:  # disk full, permissions changed
        _warn_once(("save", cache_dir()), f"a kernel could not be written to the cache in "
                   f"{cache_dir()} ({type(exc).__name__}: {exc}); it stays in memory for "
                   "this process.")


def _write_whole(path, data):
    """``data`` into the file ``path``, whole or not at all: written to a
    temporary name, then renamed; mode 644 (less, by the umask)."""
    tmpname = f"{path}.tmp.{uuid.uuid4().hex[:16]}"
    fd = os.open(tmpname, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            fd = None
            f.write(data)
        os.replace(tmpname, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        try:
            os.unlink(tmpname)
        except OSError:
            pass
        raise


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
