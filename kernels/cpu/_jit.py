"""The one place where CPU kernels' compile options are set.

Every kernel is ``@jit``: compiled lazily on first call for the dtypes met,
cached on disk (numba falls back to ``~/.cache/numba`` or
``NUMBA_CACHE_DIR`` when the package directory is read-only), and releases
the GIL. No ``fastmath``: its ``nnan``/``ninf`` flags would delete the
non-finite checks the estimators rely on. ``error_model="numpy"``: a
division by zero gives inf/nan as in NumPy (then caught as non-finite
weights) instead of raising ZeroDivisionError from compiled code, and
drops the zero checks from inner loops. No ``parallel``: it breaks fork
and thread safety and makes results depend on the thread count. No C
callback wrapper (``no_cfunc_wrapper``): kernels are never passed as
first-class functions, and each wrapper costs compile time.
"""

from numba import njit

_OPTIONS = dict(cache=True, nogil=True, error_model="numpy", no_cfunc_wrapper=True)

jit = njit(**_OPTIONS)

#: For helpers only other kernels call: no Python entry point either (one
#: wrapper fewer to build).
jit_inner = njit(no_cpython_wrapper=True, **_OPTIONS)

#: For scalar helpers called per element in an inner loop: always inlined
#: (LLVM then takes their branches out of the loop; a call per element
#: made tanh, logistic and gelu fits 1.2-1.6x slower).
jit_scalar = njit(forceinline=True, no_cpython_wrapper=True, **_OPTIONS)

#: For sums whose order is free (the L2 penalty's value, never a gradient
#: or a parameter): ``reassoc`` alone lets LLVM vectorize the reduction;
#: it keeps NaN and inf semantics.
jit_sum = njit(fastmath={"reassoc"}, **_OPTIONS)
