"""The one place where CPU kernels' compile options are set.

Every kernel is ``@jit``: compiled lazily on first call for the dtypes met,
cached on disk (numba falls back to ``~/.cache/numba`` or
``NUMBA_CACHE_DIR`` when the package directory is read-only), and releases
the GIL. No ``fastmath``: its ``nnan``/``ninf`` flags would delete the
non-finite checks the estimators rely on. No ``parallel``: it breaks fork
and thread safety and makes results depend on the thread count.
"""

from numba import njit

jit = njit(cache=True, nogil=True)
