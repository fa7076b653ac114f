"""The compute backend of a fit: CPU kernels or their CUDA twins.

``get_backend("cpu")`` never imports CUDA. ``get_backend("cuda")`` raises a
clear error where CUDA cannot run; it never falls back to the CPU. A
backend puts X in the kernels' form (``kernel_input``), moves arrays
(``to_device``/``to_host``/``copy``/``copy_into``: identities and NumPy
copies on the CPU; ``state_to_device``, for the buffers a fit updates, a
copy there only to start them on a cache line) and names the kernels of
the training loop, so ``_training`` reads the same for both.
"""

from contextlib import contextmanager, nullcontext

import numpy as np
import scipy.sparse as sp

#: Rows per chunk where a whole data set is forwarded (prediction, a
#: validation set, L-BFGS's loss and gradient): a pass's scratch memory is
#: bounded whatever the number of rows.
CHUNK_ROWS = 4096

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


CUDA_INSTALL_HINT = (
    "device='cuda' needs an NVIDIA GPU with its driver and the numba-cuda "
    "package: pip install 'fastnn[cuda]'"
)
#: Appended to every "CUDA cannot run" error: a model fitted on a GPU is
#: often loaded where there is none.
CPU_HINT = (
    " To run on the CPU instead, use device='cpu'; a model fitted on a GPU "
    "predicts on the CPU after set_params(device='cpu')."
)


class _Backend:
    """What both backends do alike, through their own ``to_device`` and
    ``forward``."""

    def kernel_input(self, X):
        """X as the kernels take it (see ``kernel_input``), on the device."""
        Xd, data, indices, indptr, is_sparse = kernel_input(X)
        return (*(self.to_device(a) for a in (Xd, data, indices, indptr)), is_sparse)

    def predict(self, out, X, params, units, hidden_code, act_param, out_code):
        """out[:] = network output for host X (dense or sparse) and host
        params, computed on this backend."""
        self.forward(out, self.kernel_input(X), self.to_device(params), units, hidden_code,
                     act_param, out_code)

    def loss_grad(self, d_grad, d_params, X_in, Y, SW, units, net_codes, alpha, delta_scale,
                  work):
        """The full-batch loss, and its gradient into ``d_grad`` (see
        ``kernels.cpu.loss_grad``), X in kernel form on this device."""
        return self.kernels.loss_grad(d_grad, d_params, *X_in, Y, SW, units, *net_codes, alpha,
                                      delta_scale, CHUNK_ROWS, work)


class CPUBackend(_Backend):
    name = "cpu"

    def __init__(self):
        from .kernels import cpu

        self.kernels = cpu

    def epochs(self, batch_size):
        """The factory of a fit's epochs (see ``kernels.cpu.minibatch_epochs``)."""
        k = self.kernels
        return k.sample_epochs if batch_size == 1 else k.minibatch_epochs

    def to_device(self, a):
        return a

    def state_to_device(self, a):
        """A buffer the fit updates in place (the parameters, the optimizer
        state) on the device: on the CPU ``a`` itself where its data start
        on a cache line, else such a copy (``kernels.cpu.aligned``); the
        fit copies it back (``to_host``)."""
        return self.kernels.aligned(a)

    def to_host(self, a):
        return a

    def copy(self, a):
        return a.copy()

    def copy_into(self, dst, src):
        dst[:] = src

    def device_errors(self):
        return nullcontext()

    def reporting(self, callback):
        """Within the block, ``callback(what, seconds)`` hears of kernels
        compiled (see ``kernels.cpu._cache.reporting``)."""
        from .kernels.cpu import _cache

        return _cache.reporting(callback)

    def forward(self, out, X_in, params, units, hidden_code, act_param, out_code):
        """out[:] = network output (host array) for ``X_in``, X already in
        kernel form on this device (``kernel_input``)."""
        self.kernels.predict(out, *X_in, params, units, hidden_code, act_param, out_code,
                             CHUNK_ROWS)


class CUDABackend(_Backend):
    name = "cuda"

    def __init__(self):
        try:
            from numba import cuda
        except ImportError as exc:  # numba without its CUDA target
            raise RuntimeError(CUDA_INSTALL_HINT + "." + CPU_HINT) from exc
        try:
            available = cuda.is_available()
        except Exception:  # a broken driver or toolkit install
            available = False
        if not available:
            raise RuntimeError(
                CUDA_INSTALL_HINT + "; no usable CUDA device was found." + CPU_HINT)
        from .kernels import cuda as cuda_kernels

        self.cuda = cuda
        self.kernels = cuda_kernels
        from numba.cuda.cudadrv import driver, error

        self._errors = tuple(
            getattr(mod, name)
            for mod, name in ((driver, "CudaAPIError"), (error, "CudaSupportError"),
                              (error, "CudaDriverError"))
            if hasattr(mod, name)
        )

    @contextmanager
    def device_errors(self):
        """Turn CUDA driver errors into Python errors that say what to do
        (the estimator's own guard then restores its previous state)."""
        try:
            yield
        except self._errors as exc:
            if "OUT_OF_MEMORY" in str(exc):
                raise MemoryError(
                    "The GPU ran out of memory. Use a smaller batch_size or "
                    f"network, or device='cpu'. ({exc})"
                ) from exc
            raise RuntimeError(f"CUDA error on device='cuda': {exc}") from exc

    def reporting(self, callback):
        """Compiles of the CUDA kernels are not reported."""
        return nullcontext()

    def epochs(self, batch_size):
        # batch_size=1 runs as mini-batches of one row: correct, but the
        # CPU's fused per-sample path is faster for it.
        return self.kernels.minibatch_epochs

    def to_device(self, a):
        if a.size == 0:  # an unused buffer (SGD's second state, dense X's CSR dummies)
            return self.cuda.device_array(1, dtype=a.dtype)
        return self.cuda.to_device(np.ascontiguousarray(a))

    def state_to_device(self, a):
        return self.to_device(a)

    def to_host(self, a):
        return a.copy_to_host()

    def copy(self, a):
        b = self.cuda.device_array_like(a)
        b.copy_to_device(a)
        return b

    def copy_into(self, dst, src):
        dst.copy_to_device(src)

    def forward(self, out, X_in, d_params, units, hidden_code, act_param, out_code):
        """out[:] = network output (host array) for ``X_in`` and ``d_params``
        on the GPU (``kernel_input``, ``to_device``); only the outputs come
        back."""
        d_out = self.cuda.device_array(out.shape, dtype=out.dtype)
        self.kernels.predict(d_out, *X_in, d_params, units, hidden_code, act_param, out_code,
                             CHUNK_ROWS)
        d_out.copy_to_host(out)


def get_backend(device):
    """The backend for ``device`` ("cpu" or "cuda")."""
    return CUDABackend() if device == "cuda" else CPUBackend()
