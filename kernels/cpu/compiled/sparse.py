"""The first layer over sparse rows read in place: a component (see
``_jit.py``) per float and index dtype, compiled only when a fit or a
prediction meets sparse X sparse enough to read in place (see
``kernels.cpu.sparse.in_place``): dense fits carry none of its code.

``csr_component(dtype, index_dtype)`` takes ``(mode, out, w, values,
indices, indptr, rows, n, fi, fo, beta)``, pointers for the arrays, and
for the ``n`` rows ``rows`` (int64) of the CSR matrix (``values``,
``indices``, ``indptr``) with ``fi`` columns:

- FORWARD: ``out`` (n, fo) = X[rows] @ ``w`` (fi, fo): each output row a
  sum over the row's stored entries, in index order (as scipy's CSR
  product), of the entry times its row of w;
- WEIGHT_GRAD: ``out`` (fi, fo) = X[rows].T @ ``w`` (n, fo), plus ``out``
  when ``beta`` is 1: each stored entry adds its value times its row's
  line of w to its column's row of out.
"""

from functools import lru_cache

import numpy as np
from numba import types

from ..sparse import csr_name
from ._jit import caller, component, wide_vectors
from .pointers import typed

FORWARD, WEIGHT_GRAD = 0, 1

CSR_SIGNATURE = types.void(types.int64, types.voidptr, types.voidptr, types.voidptr,
                           types.voidptr, types.voidptr, types.voidptr, types.intp, types.intp,
                           types.intp, types.float64)
#: ``call_csr(address, *args)``: call the CSR component at ``address``.
call_csr = caller(CSR_SIGNATURE)


@lru_cache(maxsize=None)
def csr_component(dtype, index_dtype):
    """The compiled first layer over CSR rows for ``dtype`` values and
    ``index_dtype`` indices (see the module's docstring)."""
    dtype = np.dtype(dtype).type
    itype = np.dtype(index_dtype).type

    def csr(mode, out_ptr, w_ptr, values_ptr, indices_ptr, indptr_ptr, rows_ptr, n, fi, fo,
            beta):
        wide_vectors()
        O, W, V = typed(out_ptr, dtype), typed(w_ptr, dtype), typed(values_ptr, dtype)
        ind, ptr = typed(indices_ptr, itype), typed(indptr_ptr, itype)
        R = typed(rows_ptr, np.int64)
        if mode == FORWARD:
            for r in range(n):
                i = R[r]
                o = r * fo
                for j in range(fo):
                    O[o + j] = 0.0
                for p in range(ptr[i], ptr[i + 1]):
                    v = V[p]
                    w = ind[p] * fo
                    for j in range(fo):
                        O[o + j] += v * W[w + j]
        else:
            if beta == 0.0:
                for k in range(fi * fo):
                    O[k] = 0.0
            for r in range(n):
                i = R[r]
                e = r * fo
                for p in range(ptr[i], ptr[i + 1]):
                    v = V[p]
                    g = ind[p] * fo
                    for j in range(fo):
                        O[g + j] += v * W[e + j]

    return component(csr, CSR_SIGNATURE, csr_name(dtype, index_dtype))


