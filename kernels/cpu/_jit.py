"""The one place where CPU kernels' compile options are set.

Every kernel is ``@jit``: compiled lazily on first call for the dtypes met,
cached on disk (numba falls back to ``~/.cache/numba`` or
``NUMBA_CACHE_DIR`` when the package directory is read-only), and releases
the GIL. No ``fastmath``: its ``nnan``/``ninf`` flags would delete the
non-finite checks the estimators rely on. ``error_model="numpy"``: a
division by zero gives inf/nan as in NumPy (then caught as non-finite
weights) instead of raising ZeroDivisionError from compiled code, and
drops the zero checks from inner loops. No ``parallel``: it breaks fork
and thread safety and makes results depend on the thread count.
"""

from numba import njit

jit = njit(cache=True, nogil=True, error_model="numpy")

#: For sums whose order is free (the L2 penalty's value, never a gradient
#: or a parameter): ``reassoc`` alone lets LLVM vectorize the reduction;
#: it keeps NaN and inf semantics.
jit_sum = njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
