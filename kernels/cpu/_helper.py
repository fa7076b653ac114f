"""A second process for a cold compile.

numba compiles one function at a time in a process, and its compiler is
Python, so a process's threads cannot share the work. A fit that meets a
cold cache with several units to compile (the default fit: a layer, the
head, the step and the epoch's entry, about 3 s in a row on a 2-core
machine) hands some of them to a helper: a fresh interpreter (started by
``start``) that compiles them into the cache, under the cache's locks,
while the fitting process compiles the others; the fitting process then
loads the helper's units from the cache, or compiles any the helper did
not leave there. ``_cache.plan`` decides whether a helper pays for its
start, and which units it takes.

The helper imports only the kernels (``fastnn.kernels``, as the fitting
process found them), not the estimators, and refuses to compile unless it
sees the same cache folder and build (``_cache.build_key``) as the
fitting process. It never starts a helper of its own.
"""

import json
import os
import pickle
import subprocess
import sys

from . import _cache

#: The helper's program: put the fitting process's import path first (a
#: pickle of its own, read before the job, whose units name numpy's
#: types), read the job, make ``fastnn.kernels`` importable as the fitting
#: process has it without importing the estimators (their package's
#: ``__init__`` imports scikit-learn: a second or more), then serve the
#: job.
_BOOT = """\
import importlib.util, pickle, sys, types
sys.path[:0] = [p for p in pickle.load(sys.stdin.buffer) if p not in sys.path]
job = pickle.load(sys.stdin.buffer)
top, kernels = job["packages"]
sys.modules[top[0]] = parent = types.ModuleType(top[0])
parent.__path__ = top[1]
spec = importlib.util.spec_from_file_location(kernels[0], kernels[1],
                                              submodule_search_locations=kernels[2])
module = sys.modules[kernels[0]] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
importlib.import_module(job["module"]).serve(job)
"""


class Helper:
    """A running helper compiling ``units`` (``(name, kind, recipe)``)."""

    def __init__(self, units):
        kernels = sys.modules[__package__.rsplit(".", 1)[0]]
        top = sys.modules[kernels.__name__.rsplit(".", 1)[0]]
        job = {"packages": ((top.__name__, list(top.__path__)),
                            (kernels.__name__, kernels.__file__, list(kernels.__path__))),
               "module": __name__, "units": units, "cache_dir": _cache.cache_dir(),
               "build": _cache.build_key()}
        data = pickle.dumps(list(sys.path)) + pickle.dumps(job)
        env = dict(os.environ, **{_cache.JOBS_VARIABLE: "1"})  # no helper of its own
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env)
        stdin, self.proc.stdin = self.proc.stdin, None  # communicate() only reads
        try:
            stdin.write(data)
        except OSError:  # it died at once; finish() finds out
            pass
        finally:
            try:
                stdin.close()
            except OSError:
                pass

    def finish(self, timeout):
        """Wait for the helper (``timeout`` seconds at most); returns the
        names of the units it compiled (none if it failed: the caller
        compiles what is not in the cache)."""
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return []
        if self.proc.returncode != 0:
            return []
        try:
            return [str(name) for name in json.loads(out.decode().strip().splitlines()[-1])]
        except (ValueError, IndexError):
            return []

    def stop(self):
        """End the helper now (its units already written stay usable)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start(units):
    """A ``Helper`` for ``units``, or None where one cannot be started (the
    helper is an optimization, never a point of failure: the caller then
    compiles them itself)."""
    if not sys.executable or getattr(sys, "frozen", False):
        return None
    try:
        return Helper(units)
    except Exception:  # no process to start, a module without a path, ...
        return None


def serve(job):
    """The helper's side: compile the job's units into the cache; print the
    names of those compiled here as JSON."""
    from . import _calls

    if _cache.cache_dir() != job["cache_dir"] or _cache.build_key() != job["build"]:
        sys.exit(3)  # not the fitting process's cache: it compiles them itself
    _cache.silence_notice()
    _cache.ensure(job["units"], lambda: "", _calls.build)
    print(json.dumps(_cache.compiled_units()), flush=True)
