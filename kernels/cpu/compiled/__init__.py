"""The compiled half of the CPU kernels: what numba compiles, imported
only where a unit must be compiled (a cache miss) or with
``NUMBA_DISABLE_JIT=1``. The host functions (``kernels.cpu``'s modules of
the same names) name what they call here, and ``_calls.run`` readies it:
a process whose units are on disk never imports this package, nor numba.

The drivers (``*_kernel``, compiled through their entries, see
``_jit.entry``) and the components they call through function pointers
(a hidden layer, the head, the optimizer step, the first layer over CSR
rows) are built from the formulas of ``kernels/`` and the pointer
intrinsics of ``pointers.py``.
"""
