"""CUDA kernel tests: run under numba's CUDA simulator in CI (its own pytest
process, ``NUMBA_ENABLE_CUDASIM=1`` set before numba is imported), or on
a real GPU. Skipped otherwise."""

import os

import pytest


def _cuda_usable():
    try:
        from numba import cuda
    except ImportError:
        return False
    return os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _cuda_usable():
        return
    skip = pytest.mark.skip(reason="no CUDA: set NUMBA_ENABLE_CUDASIM=1 (simulator) or run on a GPU")
    for item in items:
        if "tests/cuda" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    """Tiny blocks so even tiny inputs span several of them (simulator
    shapes: at most 4 blocks per axis, 64 threads a block), and tiles of
    two rows so a batch spans several tiles of the fused step."""
    if not _cuda_usable():
        return
    from fastnn.kernels.cuda import _launch, fused

    monkeypatch.setattr(_launch, "TPB", 4)
    monkeypatch.setattr(_launch, "TILE", 2)
    monkeypatch.setattr(fused, "MAX_TILE_ROWS", 2)
