"""The kernels' machine code, loaded and called without numba
(kernels/cpu/_native.py): a unit's file is loaded only whole and
unchanged, and an entry refuses arguments of other kinds than it was
compiled for (a TypeError, never a crash or a wrong read)."""

import numpy as np
import pytest

from fastnn.kernels.cpu import _native


def test_a_units_file_loads_only_whole_and_unchanged(predict_entry):
    from fastnn.kernels.cpu.compiled._jit import machine_code
    from fastnn.kernels.cpu.compiled.activations import layer_component

    symbol, obj = machine_code(layer_component(3, np.float64, False))
    data = _native.unit_bytes(symbol, obj)
    address, header = _native.load(data)
    assert address and header["symbol"] == symbol
    undefined, functions = _native._symbols(obj)
    assert undefined <= {"memset", "memcpy"}  # a component calls nothing else
    assert symbol in dict(functions)
    for damaged in (data[: len(data) // 2], data[:-1] + bytes([data[-1] ^ 1]), b"",
                    b"\x7fELF not machine code", _native.MAGIC + b"{}\n" + obj):
        assert _native.load(damaged) is None


def test_an_entry_refuses_arguments_of_other_kinds(predict_entry):
    kinds = predict_entry.kinds
    assert "n" in kinds and any(k.startswith("a") for k in kinds)
    array_at = next(i for i, k in enumerate(kinds) if k.startswith("a"))
    good = [np.zeros(1, dtype=np.dtype(k[1])).reshape((1,) * int(k[2:])) if k[0] == "a" else
            None if k == "n" else 0.0 if k == "f" else 0 for k in kinds]
    wrong_dtype = list(good)
    wrong_dtype[array_at] = good[array_at].astype(np.complex128)
    strided = list(good)
    strided[array_at] = np.zeros((4,) * good[array_at].ndim, good[array_at].dtype)[::2]
    not_none = list(good)
    not_none[kinds.index("n")] = 5
    for args in (wrong_dtype, strided, not_none, good[:-1]):
        with pytest.raises((TypeError, ValueError)):
            predict_entry(args)
        with pytest.raises((TypeError, ValueError)):
            predict_entry.bind(args, [])  # checked once, when bound
    with pytest.raises(TypeError, match="cannot change"):
        predict_entry.bind(good, [array_at])  # only scalars change between bound calls


def test_signature_names_each_kind():
    args = [np.zeros((2, 3), np.float32), None, True, 3, 2.5, np.int64(1), np.float64(1.0)]
    assert _native.signature(args) == ["af2", "n", "b", "i", "f", "i", "f"]
    with pytest.raises(TypeError):
        _native.signature(["text"])


def test_perf_map_names_the_loaded_code(tmp_path):
    """FASTNN_PERF_MAP=1: each loaded function in perf's map of JIT code
    (/tmp/perf-<pid>.map), the components and the driver's entry by name."""
    import os
    import subprocess
    import sys

    code = ("import os, warnings; warnings.simplefilter('ignore'); import fastnn, numpy as np; "
            "X = np.random.RandomState(0).standard_normal((40, 3)); "
            "fastnn.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, X[:, 0] > 0); "
            "print(os.getpid())")
    env = dict(os.environ, FASTNN_PERF_MAP="1", NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    path = f"/tmp/perf-{done.stdout.split()[-1]}.map"
    try:
        lines = open(path).read().splitlines()
    finally:
        os.unlink(path)
    names = [line.split(" ", 2)[2] for line in lines]
    for part in ("layer_", "head_", "step_", "minibatch_epoch_kernel_entry"):
        assert any(part in name for name in names), names
    assert all(int(line.split()[0], 16) and int(line.split()[1], 16) for line in lines)
