"""How the CPU host functions call their compiled kernels.

A host function (``activations.activation_forward``, ``epochs.minibatch_epoch``,
...) names its kernel (a driver of ``compiled/``) and the components it
needs as *specs* (``layer_spec``, ``head_spec``, ``step_spec``,
``csr_specs`` in their modules) and hands ``run`` a function that makes
the kernel's arguments from the components' addresses. ``run`` readies
every compiled unit the call needs, from the cache or by compiling it
(``_cache.ensure``), then calls the kernel through its entry
(``_native.Entry``); ``bind`` does all that once for calls that change
only a few scalars (a fit's epochs). Nothing here imports numba: only a
compile does.

The kernels see every float array as bytes (``as_bytes``), so one compile
serves both float dtypes; the entries take every array by its address,
so read-only and writable input share them.
"""

import hashlib
import importlib
import os
from functools import lru_cache

import numpy as np

from .. import codes, layout
from . import _cache, _native

_ACTIVATION_NAMES = {v: k for k, v in codes.ACTIVATIONS.items()}
_LOSS_NAMES = {v: k for k, v in codes.LOSSES.items()}
_SOLVER_NAMES = {v: k for k, v in codes.SOLVERS.items()}


def as_bytes(a):
    """The bytes of the C-contiguous array ``a`` (a view, read-only if ``a``
    is)."""
    return np.ascontiguousarray(a).reshape(-1).view(np.uint8)


def x_bytes(Xd, data, indices, indptr, is_sparse):
    """X's five kernel arguments (see ``fastnn._backend.kernel_input``) as
    the kernels take them."""
    return (as_bytes(Xd), as_bytes(data), indices, indptr,
            bool(is_sparse))


#: An empty int64 array, for the index arguments of dense input.
NO_INDEX = np.empty(0, dtype=np.int64)


def offsets(units, max_rows):
    """``kernels.layout.offsets(units, max_rows)``, the drivers' layout
    argument, made once per network and batch size (8.8 us each time: a
    small network's epoch call is about 40 us of Python); read-only,
    since every call shares it."""
    return _offsets(np.asarray(units, dtype=np.int64).tobytes(), int(max_rows))


@lru_cache(maxsize=256)
def _offsets(units, max_rows):
    table = layout.offsets(np.frombuffer(units, dtype=np.int64), max_rows)
    table.flags.writeable = False
    return table


#: Bytes in a cache line, and in an AVX-512 vector.
LINE = 64


def _lines(nbytes):
    """``nbytes`` uninitialised bytes starting on a cache line."""
    buf = np.empty(nbytes + LINE, dtype=np.uint8)
    start = -buf.ctypes.data % LINE
    return buf[start : start + nbytes]


def aligned(a):
    """The 1-D array ``a`` where its data start on a cache line, else a copy
    that does: a fit's parameters and optimizer state. The kernels' vector
    loops over them (the optimizer steps, the per-sample step's rows) then
    load and store whole lines. NumPy aligns its allocations to 16 bytes
    only: with every 64-byte access split over two lines a W2 fit took up
    to 1.2x as long (1.07x over paired fits, in which NumPy's arrays
    sometimes landed on a line)."""
    if a.ctypes.data % LINE == 0:
        return a
    out = _lines(a.nbytes).view(a.dtype)
    out[:] = a
    return out


def scratch(dtype, *counts, raw=False):
    """Uninitialised arrays of ``counts`` entries of ``dtype`` (their bytes
    when ``raw``, for the kernels that serve both float dtypes), cut from
    one allocation, each starting on a 64-byte line: the kernels' scratch.
    (The kernels allocate nothing themselves: an allocation in compiled
    code adds 0.15-0.2 s to a kernel's compile.)"""
    dtype = np.dtype(dtype)
    item = dtype.itemsize
    sizes = [-(-c * item // LINE) * LINE for c in counts]
    buf = _lines(sum(sizes))
    start = 0
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


def compiled(module, name, *constants):
    """The object ``name`` of ``compiled/<module>.py`` (the first one
    imports numba). A driver's reference may name a third item, the
    constants its entry is compiled with (``_jit.entry``), as ``(name,
    value)`` pairs; ignored here, and when the driver runs as Python."""
    return getattr(importlib.import_module(f"{__package__}.compiled.{module}"), name)


def python_mode():
    """Whether the kernels run as Python (``NUMBA_DISABLE_JIT=1``, numba's
    switch for debugging them)."""
    if "python" not in _state:
        flag = os.environ.get("NUMBA_DISABLE_JIT", "0").strip() not in ("", "0")
        if flag:
            from numba.core import config

            flag = bool(config.DISABLE_JIT)
        _state["python"] = flag
    return _state["python"]


_state = {}

#: (kernel, kernel key, the components' keys) -> (the kernel's entry, the
#: components' addresses), for calls whose units are all ready: an epoch
#: of a small network takes about a millisecond, so the calls after the
#: first skip the rest.
_ready_calls = {}


def run(what, kernel, kernel_key, specs, make_args):
    """Call the driver ``kernel`` (``(module, name)`` of ``compiled/``) with
    ``make_args(*addresses)``, the addresses those of the components of
    ``specs`` (``((module, factory), its unit name's function, the
    factory's arguments)``), first readying every unit the call needs: the
    components, and the kernel's entry for these arguments, which
    ``kernel_key`` (a tuple of what sets the arguments' kinds, beyond what
    the host function fixes) tells apart. ``what()`` says in words what
    they are. Returns the driver's result."""
    entry, addresses = _ready(what, kernel, kernel_key, specs, make_args)
    return entry(make_args(*addresses))


def bind(what, kernel, kernel_key, specs, make_args, changing, fallback=None):
    """``run``'s call, readied and its arguments made once, for calls that
    differ only in the scalars at the positions ``changing`` of
    ``make_args``'s tuple: returns ``call(values)``, the driver's result
    with those positions set to ``values`` (a fit's epochs: the seed, the
    learning rate and Adam's step count; made again each epoch, with their
    packing, the arguments cost 55-60 us of Python an epoch).

    ``fallback``, a driver that takes the same arguments and computes the
    same bits, runs instead of ``kernel`` while ``kernel``'s entry is
    neither ready nor in the cache, and a helper process compiles that
    entry meanwhile (``_cache.background``): the per-sample driver made
    for one network's shape, which a fit never waits for."""
    missing = None  # kernel's entry, to be compiled in the background
    if fallback is not None:
        if python_mode() or not _cache.background_on():
            kernel = fallback
        elif (key := _call(kernel, kernel_key, specs)) not in _ready_calls:
            missing = _units.get(key)
            if missing is None:
                missing = _units[key] = _driver_unit(kernel, make_args, len(specs))
            if _cache.available(missing[0]):
                missing = None
            else:
                kernel = fallback
    entry, addresses = _ready(what, kernel, kernel_key, specs, make_args)
    if missing is not None:  # once the fallback is ready, not beside its compile
        _cache.background(missing, build)
    args = make_args(*addresses)
    if isinstance(entry, _native.Entry):
        return entry.bind(args, changing)

    def call(values):
        now = list(args)
        for p, v in zip(changing, values):
            now[p] = v
        return entry(tuple(now))

    return call


#: The driver units of calls with a fallback, by call (``_call``): named
#: once, looked for at each bind until ready.
_units = {}


def _call(kernel, kernel_key, specs):
    return (kernel, kernel_key, *(k for _, _, k in specs))


def _ready(what, kernel, kernel_key, specs, make_args):
    call = _call(kernel, kernel_key, specs)
    ready = _ready_calls.get(call)
    if ready is None:
        ready = _ready_calls[call] = _prepare(what, kernel, specs, make_args)
    return ready


def _prepare(what, kernel, specs, make_args):
    if python_mode():
        fn = compiled(*kernel)
        return (lambda args: fn(*args)), [compiled(*ref)(*k).address for ref, _, k in specs]
    units = [(name(*k), ref[1], ("component", ref, k)) for ref, name, k in specs]
    units.append(_driver_unit(kernel, make_args, len(specs)))
    *parts, (address, header) = _cache.ensure(units, what, build)
    return _native.Entry(address, header), [a for a, _ in parts]


def _driver_unit(kernel, make_args, n_specs):
    """The unit of ``kernel``'s entry for the arguments ``make_args`` makes
    (see ``_cache.ensure``): named by the driver, its arguments' kinds and
    the constants it is compiled with."""
    kinds = tuple(_native.signature(make_args(*[0] * n_specs)))
    constants = kernel[2] if len(kernel) > 2 else ()
    key = ",".join(kinds + tuple(map(repr, kernel[2:])))
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    name = "-".join([kernel[1], *(c.lower() for c, _ in constants), digest])
    return name, "driver", ("driver", kernel, kinds)


def build(recipe):
    """Compile the unit of ``recipe`` (see ``_prepare``): ``("component",
    (module, factory), the factory's arguments)``, or ``("driver",
    (module, name[, constants]), the entry's argument kinds)``; returns ``(symbol,
    object file, header)``."""
    from .compiled._jit import entry, machine_code

    kind, ref, key = recipe
    if kind == "component":
        return (*machine_code(compiled(*ref)(*key)), {})
    callback, results = entry(compiled(*ref), key, dict(*ref[2:]))
    return (*machine_code(callback), {"args": list(key), "results": results})
