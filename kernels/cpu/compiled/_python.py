"""Pure-Python twins of the intrinsics the CPU kernels are built from, for
``NUMBA_DISABLE_JIT=1`` (numba's way to debug its code: every kernel then
runs as the Python it is written in, here slowly, one element at a time).

A pointer is an object over a NumPy array's bytes: ``Bytes`` (a void
pointer: a byte array and a byte offset) and ``Typed`` (a typed pointer:
an array of its dtype and an element offset, indexed as ``p[i]``). The
functions have the names and arguments of their compiled counterparts in
``pointers.py``, ``_jit.py`` and ``optimizers.py``.
"""

import numpy as np


class Bytes:
    """A void pointer: byte ``offset`` of the uint8 array ``base``."""

    __slots__ = ("base", "offset")

    def __init__(self, base, offset):
        self.base, self.offset = base, int(offset)

    def array(self, dtype, count):
        """The ``count`` entries of ``dtype`` at this pointer, as a view."""
        dtype = np.dtype(dtype)
        return self.base[self.offset : self.offset + count * dtype.itemsize].view(dtype)


class Typed:
    """A typed pointer: entry ``offset`` of the 1-D array ``base``."""

    __slots__ = ("base", "offset")

    def __init__(self, base, offset):
        self.base, self.offset = base, int(offset)

    def __getitem__(self, i):
        return self.base[self.offset + i]

    def __setitem__(self, i, value):
        self.base[self.offset + i] = value


def _flat_bytes(arr):
    return arr.reshape(-1).view(np.uint8)


def at(arr, index):
    return Bytes(_flat_bytes(arr), index * arr.itemsize)


def typed_at(arr, index):
    return Typed(arr.reshape(-1), index)


def typed(p, dtype):
    dtype = np.dtype(dtype)
    whole = p.base[: p.base.shape[0] - p.base.shape[0] % dtype.itemsize].view(dtype)
    assert p.offset % dtype.itemsize == 0
    return Typed(whole, p.offset // dtype.itemsize)


def offset(p, index):
    return Bytes(_flat_bytes(p.base), (p.offset + index) * p.base.itemsize)


def carray(p, shape, dtype):
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    return p.array(dtype, int(np.prod(shape))).reshape(shape)


def gemm(double, trans_a, trans_b, m, n, k, a, b, beta, c):
    dtype = np.float64 if double else np.float32
    A = a.array(dtype, m * k).reshape((k, m) if trans_a else (m, k))
    B = b.array(dtype, k * n).reshape((n, k) if trans_b else (k, n))
    C = c.array(dtype, m * n).reshape(m, n)
    product = (A.T if trans_a else A) @ (B.T if trans_b else B)
    if beta == 0.0:
        C[...] = product
    else:
        C += product


def gemm_rows(double, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
    dtype = np.dtype(np.float64 if double else np.float32)

    def block(p, rows, cols, ld):
        flat = p.array(dtype, (rows - 1) * ld + cols)
        return np.lib.stride_tricks.as_strided(flat, (rows, cols),
                                               (ld * dtype.itemsize, dtype.itemsize))

    A = block(a, k, m, lda).T if trans_a else block(a, m, k, lda)
    B = block(b, n, k, ldb).T if trans_b else block(b, k, n, ldb)
    C = block(c, m, n, ldc)
    product = A @ B
    if beta == 0.0:
        C[...] = product
    else:
        C += product


def copy(dst, src, nbytes):
    dst.base[dst.offset : dst.offset + nbytes] = src.base[src.offset : src.offset + nbytes]


def clear(dst, nbytes):
    dst.base[dst.offset : dst.offset + nbytes] = 0


def prefetch(p, index):
    """Nothing to do: a cache-line hint without compiled code."""


def wide_vectors():
    """Nothing to do: a compile-time setting of the compiled kernels."""


def claim_lines(a):
    """Nothing to do: a cache-line hint without compiled code."""


class Component:
    """A component as the drivers see it: ``address`` is the function."""

    def __init__(self, py_func):
        self.address = py_func


def caller(signature):
    def call(address, *args):
        return address(*args)

    return call
