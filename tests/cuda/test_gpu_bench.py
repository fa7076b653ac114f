"""bench/gpu.py end to end at tiny sizes (under the simulator in CI), so
that the GPU benchmark runs the first time it meets a GPU. It checks what
the script writes, never a time."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba.cuda")
BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def gpu_bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import gpu

    rng = np.random.RandomState(0)
    X = rng.standard_normal((16, 3)).astype(np.float32)
    y = np.arange(16) % 3
    monkeypatch.setattr(gpu, "data", lambda n: (X[:12], X[12:], y[:12], y[12:]))
    monkeypatch.setattr(gpu, "W3_HIDDEN", (3, 2))
    monkeypatch.setattr(gpu, "W3_BATCH", 4)
    monkeypatch.setattr(gpu, "WIDTHS", (2, 4))
    monkeypatch.setattr(gpu, "SWEEP_BATCH", 6)
    yield gpu
    sys.modules.pop("gpu", None)


def test_gpu_bench_writes_its_results(gpu_bench, tmp_path, capsys):
    gpu_bench.run(quick=True, epochs=1, out_dir=tmp_path, rows=16)
    results = json.loads((tmp_path / "gpu_results.json").read_text())
    assert set(results["workloads"]) == {"W3-1M", "width-2", "width-4"}
    w3 = results["workloads"]["W3-1M"]
    for key in ("fastnn_cuda_s_per_epoch", "fastnn_cpu_s_per_epoch"):
        assert w3[key] > 0
    assert 0 <= w3["fastnn_cuda_score"] <= 1
    assert w3["fastnn_cuda_score"] == w3["fastnn_cpu_score"]  # the same model on both
    assert results["predict_rows_per_s"] > 0
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "gpu_width.png").stat().st_size > 0
    assert "fastnn cuda predict" in capsys.readouterr().out
