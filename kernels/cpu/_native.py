"""Compiled kernels as machine code, loaded and called without numba.

A compiled unit (a component, or a driver's *entry*: see
``compiled/_jit.py``) is kept as the object file LLVM made of it. This
module loads such files into an LLVM engine of its own (llvmlite's MCJIT,
which links them and resolves their few outside symbols: numba's C helpers
for BLAS, memcpy, the Python C API on error paths) and calls them through
ctypes. A process whose units are all on disk never imports numba: its
first fit costs a few milliseconds of loading instead of numba's import
and start (0.3-0.5 s and about 100 MiB; see docs/performance.md).

Every entry takes one argument, the address of an int64 *block* holding
its arguments in order (``Entry`` packs it): an array as its data address and its
shape, an int or bool as itself, a float as its float64 bits, None as
nothing; the entry writes the driver's results after them. ``signature``
names the kinds of the arguments, and the entry checks each call's
arguments against the signature it was compiled for.
"""

import builtins
import ctypes
import glob
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import struct
import sys
import threading
from functools import lru_cache

import numpy as np

#: The first line of a unit's file, then one line of JSON (the symbol to
#: call, the object file's sha256, an entry's signature and results), then
#: the object file.
MAGIC = b"fastnn-unit 1\n"

_state = {}
_lock = threading.Lock()


def _reset_after_fork():
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_reset_after_fork)


def signature(args):
    """The kinds of an entry's arguments: per argument ``a<dtype
    char><ndim>`` for an array, ``n`` for None, ``b`` bool, ``i`` int, ``f``
    float."""
    kinds = []
    for a in args:
        if isinstance(a, np.ndarray):
            kinds.append(f"a{a.dtype.char}{a.ndim}")
        elif a is None:
            kinds.append("n")
        elif isinstance(a, (bool, np.bool_)):
            kinds.append("b")
        elif isinstance(a, (int, np.integer)):
            kinds.append("i")
        elif isinstance(a, (float, np.floating)):
            kinds.append("f")
        else:
            raise TypeError(f"a kernel argument of type {type(a).__name__}")
    return kinds


def _engine():
    """llvmlite's MCJIT engine for this process, with numba's C helpers
    made known to it (their extension modules loaded by path: importing
    them as numba's submodules would import numba)."""
    if "engine" in _state:
        return _state["engine"]
    import llvmlite.binding as ll

    ll.initialize_native_target()
    ll.initialize_native_asmprinter()
    root = os.path.dirname(importlib.util.find_spec("numba").origin)
    known = {}
    for name, pattern, prefix in (("numba._helperlib", "_helperlib*", "numba_"),
                                  ("numba.core.runtime._nrt_python",
                                   os.path.join("core", "runtime", "_nrt_python*"), "NRT_")):
        module = sys.modules.get(name)
        if module is None:
            path = next(p for p in glob.glob(os.path.join(root, pattern))
                        if p.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)))
            spec = importlib.util.spec_from_file_location(
                name, path, loader=importlib.machinery.ExtensionFileLoader(name, path))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module  # numba, imported later, finds it loaded
        for helper, address in module.c_helpers.items():
            known[helper if helper.startswith("_") else prefix + helper] = address
    known["_Py_NoneStruct"] = id(None)
    for obj in vars(builtins).values():
        if isinstance(obj, type) and issubclass(obj, BaseException):
            known[f"PyExc_{obj.__name__}"] = id(obj)
    for symbol, address in known.items():
        ll.add_symbol(symbol, address)
    target = ll.Target.from_default_triple()
    cpu, features = host_cpu()
    machine = target.create_target_machine(cpu=cpu, features=features, codemodel="jitdefault")
    engine = ll.create_mcjit_compiler(ll.parse_assembly(""), machine)
    _state["engine"] = (ll, engine, set(known), ctypes.CDLL(None), [])
    return _state["engine"]


@lru_cache(maxsize=None)
def host_cpu():
    """``(name, features)`` of the CPU numba compiles for (its
    NUMBA_CPU_NAME and NUMBA_CPU_FEATURES, or the host's); asked once per
    process (the engine and the cache's build key both need it)."""
    import llvmlite.binding as ll

    name = os.environ.get("NUMBA_CPU_NAME") or ll.get_host_cpu_name()
    features = os.environ.get("NUMBA_CPU_FEATURES")
    if features is None:
        features = "" if os.environ.get("NUMBA_CPU_NAME") else \
            ll.get_host_cpu_features().flatten()
    return name, features


def _symbols(obj):
    """``(undefined, functions)`` of the ELF object ``obj``: the names of
    its undefined symbols, and ``(name, size)`` of the functions it defines
    with global or weak binding; None for another format (Mach-O, COFF)."""
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:  # 64-bit little-endian only
        return None
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize)
                for i in range(shnum)]
    undefined, functions = set(), []
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind != 2:  # SHT_SYMTAB
            continue
        strings = sections[link][4]
        for k in range(1, size // entsize):
            name, info, _, shndx, _, length = struct.unpack_from("<IBBHQQ", obj,
                                                                 offset + k * entsize)
            if not name:
                continue
            text = obj[strings + name : obj.index(b"\0", strings + name)].decode()
            if shndx == 0:
                undefined.add(text)
            elif info & 0xF == 2 and info >> 4 in (1, 2):  # STT_FUNC; STB_GLOBAL, STB_WEAK
                functions.append((text, length))
    return undefined, functions


def _perf_map(engine, functions):
    """With FASTNN_PERF_MAP=1, name the loaded functions for ``perf`` (its
    map file of JIT code, /tmp/perf-<pid>.map), so that a profile tells the
    components and drivers apart."""
    if os.environ.get("FASTNN_PERF_MAP", "0") in ("", "0") or not functions:
        return
    with open(f"/tmp/perf-{os.getpid()}.map", "a") as f:
        for name, length in functions:
            address = engine.get_function_address(name)
            if address and length:
                f.write(f"{address:x} {length:x} {name}\n")


def unit_bytes(symbol, obj, header=None):
    """A unit's file contents: its object code ``obj``, which defines
    ``symbol``, and ``header`` (a dict: an entry's signature and results)."""
    meta = dict(header or {}, symbol=symbol, sha256=hashlib.sha256(obj).hexdigest())
    return MAGIC + json.dumps(meta).encode() + b"\n" + obj


def load(data):
    """Load a unit's file contents (``unit_bytes``) into the engine:
    ``(address, header)``, or None where they are not a unit or need a
    symbol this process lacks (then the unit is compiled again)."""
    if not data.startswith(MAGIC):
        return None
    try:
        line, obj = data[len(MAGIC):].split(b"\n", 1)
        header = json.loads(line)
        symbol = header["symbol"]
        if hashlib.sha256(obj).hexdigest() != header["sha256"]:
            return None  # damaged: never handed to LLVM
    except (ValueError, KeyError, TypeError):
        return None
    with _lock:
        ll, engine, known, process, keep = _engine()
        symbols = _symbols(obj)
        if symbols is not None and any(s not in known and not hasattr(process, s)
                                       for s in symbols[0]):
            return None
        ref = ll.ObjectFileRef.from_data(obj)
        keep.append((obj, ref))  # the engine reads them for as long as it lives
        engine.add_object_file(ref)
        engine.finalize_object()
        address = engine.get_function_address(symbol)
        _perf_map(engine, symbols[1] if symbols else [])
    return (address, header) if address else None


class Entry:
    """A driver's entry, called as ``entry(args)``: ``args`` as the driver
    takes them (see the module's docstring). Its packing of the block is
    written for its signature when it is made (one list display, no loop
    over the kinds), since a small network's epoch takes a millisecond.
    ``bind`` packs a call's block once, for calls that change only a few
    scalars (a fit's epochs)."""

    def __init__(self, address, header):
        kinds, results = header["args"], header["results"]
        names = [f"a{k}" for k in range(len(kinds))]
        checks, slots = [], []
        self.slot = []  # each argument's first slot in the block
        for name, kind in zip(names, kinds):
            self.slot.append(len(slots))
            if kind[0] == "a":
                ndim = int(kind[2:])
                checks.append(f"type({name}) is not ndarray or {name}.dtype.char != {kind[1]!r} "
                              f"or {name}.ndim != {ndim} or not {name}.flags.c_contiguous")
                # ctypes' view of a writable buffer is 3x faster than .ctypes
                slots += [f"(addressof(from_buffer({name})) if {name}.flags.writeable and "
                          f"{name}.nbytes else {name}.ctypes.data)"]
                slots += [f"{name}.shape[{d}]" for d in range(ndim)]
            elif kind == "n":
                checks.append(f"{name} is not None")
            else:
                slots.append(f"bits({name})" if kind == "f" else name)
        reads = ", ".join(f"float(floats[{len(slots) + j}])" if r == "f" else
                          f"int(block[{len(slots) + j}])" for j, r in enumerate(results))
        source = "\n    ".join([
            "def pack(args):",
            f"{', '.join(names)}, = args",
            *(f"if {c}:\n        mismatch(args)" for c in checks),
            f"return array([{', '.join(slots)}{', 0' * len(results)}], dtype=int64)",
            "\ndef run(block):",
            "floats = block.view(float64)",
            "fn(block.ctypes.data)",
            f"return {reads}{',' if len(results) > 1 else ''}" if results else "return None",
            "\ndef call(args):",
            "return run(pack(args))"])
        fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)  # releases the GIL
        scope = {"ndarray": np.ndarray, "array": np.array, "int64": np.int64,
                 "float64": np.float64, "bits": _bits, "fn": fn,
                 "addressof": ctypes.addressof, "from_buffer": ctypes.c_char.from_buffer,
                 "mismatch": lambda args: _mismatch(args, kinds)}
        exec(source, scope)
        self.kinds, self.fn, self.call = kinds, fn, scope["call"]
        self.pack, self.run = scope["pack"], scope["run"]

    def __call__(self, args):
        return self.call(args)

    def bind(self, args, changing):
        """``bound(values)``: the entry called with ``args``, the ints,
        bools or floats at the positions ``changing`` replaced by
        ``values``. The block is checked and packed here, once: the arrays
        of ``args`` are read where their data lies at each call (kept
        alive by ``bound``), never re-checked."""
        for p in changing:
            if self.kinds[p] not in ("b", "i", "f"):
                raise TypeError(f"argument {p} of kind {self.kinds[p]!r} cannot change")
        block = self.pack(args)
        floats = block.view(np.float64)
        slots = [(self.slot[p], self.kinds[p] == "f") for p in changing]
        run = self.run

        def bound(values):
            for (slot, is_float), v in zip(slots, values):
                if is_float:
                    floats[slot] = v
                else:
                    block[slot] = v
            return run(block)

        bound.args = args
        return bound


def _bits(value):
    """The float64 bits of ``value``, as an int."""
    return struct.unpack("<q", struct.pack("<d", value))[0]


def _mismatch(args, kinds):
    raise TypeError(f"kernel arguments of kinds {signature(args)}, not {kinds}")
