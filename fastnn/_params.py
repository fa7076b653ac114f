"""The flat parameter buffer and scikit-learn's initialisation.

Every weight and bias lives in one 1-D array in scikit-learn's ``_pack``
layout: each ``coefs_[i]`` raveled (shape ``(fan_in, fan_out)``), then each
``intercepts_[i]``. The kernels work on that buffer; ``coefs_`` and
``intercepts_`` are views into it. Optimizer state buffers share the layout.
"""

import numpy as np
import scipy.sparse as sp


def init_params(units, activation, random_state, dtype):
    """Glorot-uniform weights and biases, drawn from ``random_state`` in
    exactly scikit-learn's order (per layer: the weights, then the bias)."""
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        factor = 2.0 if activation == "logistic" else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(random_state.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(random_state.uniform(-bound, bound, fan_out))
    return pack(coefs, intercepts, dtype)


def pack(coefs, intercepts, dtype, reuse=False):
    """One flat C-contiguous buffer of ``dtype`` from the per-layer arrays.
    With ``reuse``, the buffer they are views of when they still are (as a
    fit leaves them), not a copy: for callers that only read it."""
    parts = [np.asarray(c) for c in coefs] + [np.asarray(b) for b in intercepts]
    if reuse:
        base = parts[0].base
        if (isinstance(base, np.ndarray) and base.dtype == dtype and base.ndim == 1
                and base.flags.c_contiguous and all(p.base is base for p in parts)
                and sum(p.size for p in parts) == base.size):
            start = base.ctypes.data
            for p in parts:
                if p.ctypes.data != start or not p.flags.c_contiguous:
                    break
                start += p.nbytes
            else:
                return base
    return np.concatenate([p.ravel() for p in parts]).astype(dtype, copy=False)


def unpack(params, units):
    """Views ``(coefs, intercepts)`` into ``params`` for layer widths ``units``."""
    coefs, intercepts = [], []
    start = 0
    for fan_in, fan_out in zip(units[:-1], units[1:]):
        coefs.append(params[start : start + fan_in * fan_out].reshape(fan_in, fan_out))
        start += fan_in * fan_out
    for fan_out in units[1:]:
        intercepts.append(params[start : start + fan_out])
        start += fan_out
    return coefs, intercepts


def check_sparse_structure(X):
    """Raise ValueError unless the CSR or CSC matrix ``X``'s index arrays
    describe a matrix of its shape: a corrupt ``indptr`` or ``indices``
    would make the kernels (and scipy's own conversions) read or write out
    of bounds. One pass over the arrays, nothing copied or changed."""
    fmt = X.format
    if fmt not in ("csr", "csc"):
        return
    n_major, n_minor = X.shape if fmt == "csr" else X.shape[::-1]
    major, minor = ("row", "column") if fmt == "csr" else ("column", "row")
    indptr, indices = np.asarray(X.indptr), np.asarray(X.indices)

    def corrupt(problem):
        return ValueError(f"X is a corrupt {fmt.upper()} matrix of shape {X.shape}: {problem}.")

    if indptr.ndim != 1 or indptr.shape[0] != n_major + 1:
        raise corrupt(f"indptr has {indptr.size} entries, one per {major} and one more "
                      f"({n_major + 1}) needed")
    if indptr[0] != 0:
        raise corrupt(f"indptr starts at {indptr[0]}, not 0")
    if n_major and np.diff(indptr).min() < 0:
        raise corrupt("indptr decreases")
    nnz = int(indptr[-1])
    if nnz > min(indices.shape[0], np.asarray(X.data).shape[0]):
        raise corrupt(f"indptr ends at {nnz}, past the {min(indices.size, X.data.size)} "
                      "stored entries")
    if nnz:
        used = indices[:nnz]
        low, high = used.min(), used.max()
        if low < 0 or high >= n_minor:
            bad = low if low < 0 else high
            raise corrupt(f"{minor} index {bad} is outside 0..{n_minor - 1}")


def kernel_input(X):
    """X as the kernels take it: ``(Xd, data, indices, indptr, is_sparse)``.

    Dense X travels as ``Xd``; sparse X as canonical CSR arrays (CSC is
    converted to CSR, still sparse; repeated entries of a row are summed,
    as scipy's ``sum_duplicates`` does, on a copy), never densified whole:
    the first layer reads the stored entries in place, or, on the CPU for
    X dense enough, gathers one batch of rows at a time. The index arrays
    are int32 where they fit, whatever scipy chose, so that one compiled
    kernel serves them.
    """
    if sp.issparse(X):
        check_sparse_structure(X)
        X = X.tocsr()
        if not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        index = np.int32 if max(X.nnz, X.shape[1]) < 2**31 else np.int64
        empty = np.empty((0, X.shape[1]), dtype=X.dtype)
        return (empty, X.data, X.indices.astype(index, copy=False),
                X.indptr.astype(index, copy=False), True)
    no_index = np.empty(0, dtype=np.int32)
    return np.ascontiguousarray(X), np.empty(0, dtype=X.dtype), no_index, no_index, False
