"""The kernel cache is an optimization, never a point of failure
(kernels/cpu/_cache.py, "Where the cache lives"): no writable directory,
a prepared read-only cache, damaged entries, a full disk and a directory
others can write.

Each case runs in a fresh process with a NUMBA_CACHE_DIR of its own.
Tests run as root here, and root writes through permission bits, so a
read-only directory is simulated: the process's prelude makes every
write under the given directories fail with EACCES, as the operating
system would for another user.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PRELUDE = textwrap.dedent("""
    import builtins, errno, os, sys, tempfile
    READ_ONLY = [os.path.abspath(p) for p in sys.argv[1].split(os.pathsep) if p]

    def _ro(path):
        path = os.path.abspath(os.fsdecode(path))
        return any(path == d or path.startswith(d + os.sep) for d in READ_ONLY)

    def _refuse(path):
        raise PermissionError(errno.EACCES, "Read-only file system", str(path))

    _open, _os_open, _makedirs, _temp = builtins.open, os.open, os.makedirs, tempfile.TemporaryFile

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+") and _ro(file):
            _refuse(file)
        return _open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and _ro(path):
            _refuse(path)
        return _os_open(path, flags, *args, **kwargs)

    def makedirs(name, mode=0o777, exist_ok=False):
        if _ro(name) and not os.path.isdir(name):
            _refuse(name)
        return _makedirs(name, mode, exist_ok)

    def temporary_file(*args, dir=None, **kwargs):
        if dir is not None and _ro(dir):
            _refuse(dir)
        return _temp(*args, dir=dir, **kwargs)

    builtins.open, os.open, os.makedirs, tempfile.TemporaryFile = (
        open_, os_open, makedirs, temporary_file)
    if "PACKAGE" in sys.argv[1].split(os.pathsep):  # the fastnn this process imports
        import fastnn, fastnn.kernels
        READ_ONLY += [os.path.dirname(m.__file__) for m in (fastnn, fastnn.kernels)]
""")

FIT = textwrap.dedent("""
    import json, warnings
    import numpy as np
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        import fastnn
        from fastnn.kernels.cpu import _cache
        X = np.random.RandomState(0).standard_normal((60, 4))
        y = (X[:, 0] > 0).astype(int)
        est = fastnn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0).fit(X, y)
        score = est.score(X, y)
    print(json.dumps({
        "compiled": len(_cache.compiled_units()), "cache_dir": _cache.cache_dir(),
        "warnings": [str(w.message) for w in caught if "fastnn:" in str(w.message)],
        "score": score}))
""")


def run(cache_dir, read_only=(), extra="", home=None, umask=None):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    if cache_dir is None:
        env.pop("NUMBA_CACHE_DIR")
    if home is not None:
        env["HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + extra + FIT, os.pathsep.join(map(str, read_only))],
        env=env, capture_output=True, text=True, timeout=600,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def files(directory):
    return sorted(p for p in Path(directory).rglob("*") if p.is_file())


def test_no_writable_cache_directory_compiles_in_memory(tmp_path):
    """A NUMBA_CACHE_DIR nothing can be written to (as in a read-only
    container): import and fit work, the kernels compile in memory, and
    the process says so once."""
    report = run(tmp_path, read_only=[tmp_path])
    assert report["compiled"] > 0 and report["cache_dir"] is None
    assert len(report["warnings"]) == 1 and "compile in memory" in report["warnings"][0]
    assert files(tmp_path) == []


def test_read_only_package_and_home_without_numba_cache_dir(tmp_path):
    """The package directory and HOME read-only, no NUMBA_CACHE_DIR:
    import and fit still work (from the package's prepared cache where
    it has one, else in memory)."""
    report = run(None, read_only=["PACKAGE", tmp_path], home=tmp_path)
    assert report["score"] > 0.5
    # the package's own prepared cache (where it has one), or none
    assert report["cache_dir"] is None or report["cache_dir"].endswith(
        os.path.join("kernels", "cpu", "__pycache__"))


def test_a_prepared_read_only_cache_is_loaded_from(tmp_path):
    first = run(tmp_path)
    assert first["compiled"] > 0
    before = [(p, p.stat().st_mtime_ns) for p in files(tmp_path)]
    report = run(tmp_path, read_only=[tmp_path])
    assert report["compiled"] == 0 and report["warnings"] == []
    assert report["cache_dir"].startswith(str(tmp_path))
    assert [(p, p.stat().st_mtime_ns) for p in files(tmp_path)] == before


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_a_damaged_cache_entry_is_a_miss(tmp_path, damage):
    run(tmp_path)
    entries = [p for p in files(tmp_path) if p.suffix == ".o"]
    assert entries
    for p in entries:
        data = p.read_bytes()
        p.write_bytes({"empty": b"", "truncated": data[: len(data) // 2],
                       "garbage": b"\x7fELF not machine code"}[damage])
    report = run(tmp_path)
    assert report["compiled"] > 0 and report["score"] > 0.5
    assert len(report["warnings"]) == 1 and "could not be read" in report["warnings"][0]
    # the recompiled kernels replaced the damaged entries
    again = run(tmp_path)
    assert again["compiled"] == 0 and again["warnings"] == []


def test_a_full_disk_keeps_the_kernels_in_memory(tmp_path):
    full_disk = textwrap.dedent("""
        import errno
        from fastnn.kernels.cpu import _cache as cache_module
        def _full(path, data):
            raise OSError(errno.ENOSPC, "No space left on device", path)
        cache_module._write_whole = _full
    """)
    report = run(tmp_path, extra=full_disk)
    assert report["compiled"] > 0 and report["score"] > 0.5
    assert len(report["warnings"]) == 1 and "could not be written" in report["warnings"][0]


def test_a_cache_others_can_write_is_not_loaded(tmp_path):
    first = run(tmp_path)
    (subdir,) = {p.parent for p in files(tmp_path) if p.suffix == ".o"}
    subdir.chmod(0o777)
    report = run(tmp_path)
    assert report["compiled"] == first["compiled"] and report["cache_dir"] is None
    assert len(report["warnings"]) == 1 and "writable by other users" in report["warnings"][0]


def test_a_cache_file_others_can_write_is_replaced_not_loaded(tmp_path):
    first = run(tmp_path)
    for p in files(tmp_path):
        if p.suffix == ".o":
            p.chmod(0o666)
    report = run(tmp_path)
    assert report["compiled"] == first["compiled"]
    assert report["warnings"] and all("writable by other users" in w
                                      for w in report["warnings"])
    again = run(tmp_path)  # the recompiled units were written afresh, writable by their owner
    assert again["compiled"] == 0 and again["warnings"] == []


def test_a_group_writable_umask_still_keeps_a_usable_cache(tmp_path):
    """umask 002 (the default for users with a private group) makes
    group-writable files, which would never be loaded: fastnn writes its
    folder and files writable by their owner only."""
    first = run(tmp_path / "cache", umask=0o002)
    assert first["compiled"] > 0 and first["warnings"] == []
    modes = {p.stat().st_mode & 0o777 for p in files(tmp_path / "cache")}
    assert not any(m & 0o022 for m in modes), modes
    again = run(tmp_path / "cache", umask=0o002)
    assert again["compiled"] == 0 and again["warnings"] == []


def test_a_cache_under_a_folder_others_can_write_is_not_used(tmp_path):
    """Another user could rename the cache away and put theirs in its
    place: a world-writable (not sticky) folder above it rules it out."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    report = run(shared / "cache")
    assert report["cache_dir"] is None and report["compiled"] > 0
    assert len(report["warnings"]) == 1 and "writable by other users" in report["warnings"][0]


def test_the_build_key_follows_only_settings_that_change_the_code():
    """joblib sets NUMBA_NUM_THREADS in its workers: that must not make
    them miss the parent's kernels; NUMBA_OPT changes the code made."""
    code = "from fastnn.kernels.cpu import _cache; print(_cache.build_key())"
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_OPT", "NUMBA_NUM_THREADS")}
    keys = []
    for extra in ({}, {"NUMBA_NUM_THREADS": "1"}, {"NUMBA_OPT": "1"}):
        done = subprocess.run([sys.executable, "-c", code], env=dict(base, **extra),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        keys.append(done.stdout.strip())
    assert keys[0] == keys[1] != keys[2]
