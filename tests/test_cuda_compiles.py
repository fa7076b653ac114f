"""Every CUDA kernel compiles for a real GPU, without one.

The CUDA suite (tests/cuda) runs the kernels under the simulator, which
runs them as Python and so never types or compiles them: code the GPU
cannot compile (a function it does not support, a shared formula it cannot
call) would pass there and fail on a user's GPU. Here, in a process of its
own (the real numba.cuda, the simulator off), each kernel is compiled to
PTX for compute capability 9.0, float32 and float64, with the device query
answered by a stand-in (compiling needs NVIDIA's NVVM library, which the
``cuda`` extra installs, not a GPU).
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import inspect, json
    import numpy as np
    import numba
    from numba import cuda, types as T
    import numba.cuda.api as api
    from numba.cuda import dispatcher

    class Device:  # what compiling asks of the current device
        compute_capability = (9, 0)
        id = 0

    api.get_current_device = dispatcher.get_current_device = lambda: Device()

    from fastnn.kernels.cuda import activations, dense, epochs, fused, losses, network, optimizers

    modules = (activations, dense, epochs, fused, losses, network, optimizers)
    found = sorted({name for m in modules for name, obj in vars(m).items()
                    if name.endswith("_kernel") and hasattr(obj, "py_func")}
                   | {"matmul_kernel", "tile_grad_kernel"})
    f64, i64, b1 = T.float64, T.int64, T.boolean
    F1, F2, I64 = f64[::1], f64[:, ::1], i64[::1]
    results = {"found": found, "failed": []}
    for np_dtype in (np.float32, np.float64):
        dt = numba.from_dtype(np_dtype)
        A1, A2, I32 = dt[::1], dt[:, ::1], T.int32[::1]
        kernels = {
            "activation_forward_kernel": (activations, (A2, A2, b1, i64, f64)),
            "activation_backward_kernel": (activations, (A2, A2)),
            "softmax_kernel": (activations, (A2,)),
            "dropout_forward_kernel": (activations, (A2, A2, f64, dt, i64, i64, i64)),
            "matmul_kernel": (dense._make_matmul_kernel(np_dtype, 16), (A2, A2, A2, b1, b1)),
            "matmul_simple_kernel": (dense, (A2, A2, A2, b1, b1)),
            "add_bias_kernel": (dense, (A2, A1)),
            "column_sum_kernel": (dense, (A1, A2)),
            "csr_forward_kernel": (dense, (A2, A2, A1, A1, I32, I32, I64)),
            "zero_2d_kernel": (dense, (A2,)),
            "csr_weight_grad_kernel": (dense, (A2, A2, A1, I32, I32, I64)),
            "gather_rows_kernel": (dense, (A2, A2, I64)),
            "gather_sparse_rows_kernel": (dense, (A2, A1, I32, I32, I64)),
            "accumulate_loss_kernel": (epochs, (F1, F1, F1, f64, f64, i64)),
            "tile_grad_kernel": (fused._tile_grad_kernel(np.dtype(np_dtype).str),
                                 (A2, F2, i64, A2, A2, A1, I64, i64, i64, i64, A1, I64, I64, I64,
                                  I64, i64, f64, i64, i64, f64, f64, F1, i64)),
            "reduce_step_kernel": (fused, (A1, A1, A1, A2, i64, i64, dt, dt, i64, dt, dt, b1, dt,
                                           dt, dt, F2, i64)),
            "epoch_loss_kernel": (fused, (F1, F2, F2, F1, F1, f64)),
            "row_loss_kernel": (losses, (F1, A2, A2, A1, i64, f64, f64)),
            "sum_in_order_kernel": (losses, (F1, F1, i64, f64, f64)),
            "output_delta_kernel": (losses, (A2, A2, A2, A1, dt, i64, f64)),
            "add_into_kernel": (network, (A1, A1)),
            "fill_kernel": (network, (A1, f64)),
            "finish_grad_kernel": (optimizers, (A1, A1, i64, dt, dt)),
            "sgd_step_kernel": (optimizers, (A1, A1, A1, i64, dt, dt, dt, dt, b1)),
            "adam_step_kernel": (optimizers, (A1, A1, A1, A1, i64, dt, dt, dt, dt, dt, dt)),
            "strided_sqsum_kernel": (optimizers, (F1, A1, i64)),
        }
        results["listed"] = sorted(kernels)
        for name, (where, signature) in kernels.items():
            kernel = where if hasattr(where, "py_func") else getattr(where, name)
            try:
                cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
            except Exception as exc:
                results["failed"].append(f"{name} {np_dtype.__name__}: "
                                         f"{type(exc).__name__}: {str(exc)[:400]}")
    print(json.dumps(results))
""")


def test_every_cuda_kernel_compiles_to_ptx():
    pytest.importorskip("numba.cuda")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0 and ("NVVM" in done.stderr or "libnvvm" in done.stderr):
        pytest.skip("NVIDIA's NVVM library is not installed (the cuda extra brings it)")
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results["found"] == results["listed"], "a kernel without a signature here"
    assert results["failed"] == []
