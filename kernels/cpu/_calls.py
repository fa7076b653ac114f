"""How the CPU host functions call their compiled kernels.

A host function (``activations.activation_forward``, ``epochs.minibatch_epoch``,
...) names the components its kernel needs as *specs* (``layer_spec``,
``head_spec``, ``step_spec``, ``csr_specs`` in their modules) and hands
``run`` a function that makes the kernel's arguments from the components'
addresses. ``run`` readies every compiled unit the call needs, from the
cache or by compiling it (``_cache.ensure``), then calls the kernel.

The kernels see every float array as bytes (``as_bytes``), so one compile
serves both float dtypes, and input they only read as read-only views
(``read_only``): numba types a read-only array apart from a writable one,
and this way one compiled kernel serves both.
"""

import numba
import numpy as np

from .. import codes
from . import _cache

_ACTIVATION_NAMES = {v: k for k, v in codes.ACTIVATIONS.items()}
_LOSS_NAMES = {v: k for k, v in codes.LOSSES.items()}
_SOLVER_NAMES = {v: k for k, v in codes.SOLVERS.items()}


def read_only(a):
    """``a`` as a read-only view (no copy)."""
    if not a.flags.writeable:
        return a
    view = a.view()
    view.flags.writeable = False
    return view


def as_bytes(a):
    """The bytes of the C-contiguous array ``a`` (a view, read-only if ``a``
    is)."""
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


def input_bytes(a):
    """The bytes of an array the kernel only reads, read-only."""
    return read_only(as_bytes(a))


def x_bytes(Xd, data, indices, indptr, is_sparse):
    """X's five kernel arguments (see ``fastnn._backend.kernel_input``) as
    the kernels take them."""
    return (input_bytes(Xd), input_bytes(data), read_only(indices), read_only(indptr),
            bool(is_sparse))


#: An empty int64 array, for the index arguments of dense input.
NO_INDEX = read_only(np.empty(0, dtype=np.int64))


def scratch(dtype, *counts, raw=False):
    """Uninitialised arrays of ``counts`` entries of ``dtype`` (their bytes
    when ``raw``, for the kernels that serve both float dtypes), cut from
    one allocation, each starting on a 64-byte line: the kernels' scratch.
    (The kernels allocate nothing themselves: an allocation in compiled
    code adds 0.15-0.2 s to a kernel's compile.)"""
    dtype = np.dtype(dtype)
    item = dtype.itemsize
    sizes = [-(-c * item // 64) * 64 for c in counts]
    buf = np.empty(sum(sizes) + 64, dtype=np.uint8)
    start = -buf.ctypes.data % 64
    parts = []
    for c, size in zip(counts, sizes):
        part = buf[start : start + c * item]
        parts.append(part if raw else part.view(dtype))
        start += size
    return parts


def named(dtype, what, hidden_code=None, out_code=None, loss_code=None, solver=None):
    """In words: the kernels ``what`` for ``dtype`` (and the network's
    codes given), for the compile notice."""
    parts = []
    if hidden_code is not None:
        parts.append(f"{_ACTIVATION_NAMES[int(hidden_code)]} layers")
    if out_code is not None:
        parts.append(f"{_ACTIVATION_NAMES[int(out_code)]} output")
    if loss_code is not None:
        parts.append(_LOSS_NAMES[int(loss_code)])
    if solver is not None:
        parts.append(_SOLVER_NAMES[int(solver)])
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"the {np.dtype(dtype).name} {what}{detail}"


#: (kernel, kernel key, the components' keys) -> the components' addresses,
#: for calls whose units are all ready: an epoch of a small network takes
#: about a millisecond, so the calls after the first skip the rest.
_ready_calls = {}


def run(what, kernel, kernel_key, specs, make_args):
    """Call ``kernel(*make_args(*addresses))``, the addresses those of the
    components of ``specs`` (``(factory, its unit name's function, the
    factory's arguments)``), first readying every unit the call needs: the
    components, and the kernel's specialization for these arguments, which
    ``kernel_key`` (a tuple of what sets the arguments' numba types, beyond
    what the host function fixes) tells apart. ``what()`` says in words
    what they are."""
    call = (kernel, kernel_key, *(k for _, _, k in specs))
    addresses = _ready_calls.get(call)
    if addresses is not None:
        return kernel(*make_args(*addresses))
    units = [(name(*k), name(*k), "component", lambda f=f, k=k: f(*k)) for f, name, k in specs]
    qualname = getattr(kernel, "py_func", kernel).__qualname__
    made = []

    def args():
        return make_args(*(f(*k).address for f, _, k in specs))

    def compile_kernel():
        made.append(args())
        if hasattr(kernel, "compile"):  # not with NUMBA_DISABLE_JIT=1
            kernel.compile(tuple(numba.typeof(a) for a in made[0]))

    units.append(((qualname, *kernel_key), qualname, "driver", compile_kernel))
    _cache.ensure(units, what)
    _ready_calls[call] = tuple(f(*k).address for f, _, k in specs)
    return kernel(*(made[0] if made else args()))
