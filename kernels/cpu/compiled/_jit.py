"""The one place where CPU kernels' compile options are set, and where
the small compiled pieces a fit uses are made.

Every kernel is compiled lazily, on first use, for the dtypes met, kept on
disk as machine code (``_cache``, ``_native``), and releases the GIL. No
``fastmath``: its ``nnan``/``ninf`` flags would delete the non-finite
checks the estimators rely on. ``error_model="numpy"``: a division by
zero gives inf/nan as in NumPy (then caught as non-finite weights)
instead of raising ZeroDivisionError from compiled code, and drops the
zero checks from inner loops. No ``parallel``: it breaks fork and thread
safety and makes results depend on the thread count.

What a cold compile costs, and how it is kept small
----------------------------------------------------

A fit runs one *driver* (``jit``: the mini-batch or per-sample epoch,
the full-batch loss and gradient, prediction), compiled once per dtype,
and through function pointers a few *components* (``component``): the
hidden and output activation, the loss, the optimizer step. Each
component is compiled for one activation, loss or solver code only (the
code is a compile-time constant, so numba drops every branch the code
cannot take), and each driver is compiled once whatever the codes: a fit
compiles what it uses, a new activation costs one small component, and
the variants add up instead of multiplying.

Numba types and lowers every branch it meets, so the components branch
on their codes in their own body, where the branches of the other codes
are dropped before typing, and each branch calls a small helper: a
helper that branched on the code itself would be processed whole (a
layer component took 0.45-0.6 s to compile that way, 0.2 s like this).
"""

from functools import lru_cache

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, config
from numba.core.ccallback import CFunc
from numba.extending import intrinsic

import numpy as np

#: Caching is fastnn's own (``_cache``: the units' machine code), not
#: numba's ``cache=True``, which makes import fail where no directory is
#: writable and needs numba to load.
_OPTIONS = dict(nogil=True, error_model="numpy")

#: Drivers: called from Python through their entry (``entry``) alone, so
#: without numba's wrappers for Python (``no_cpython_wrapper``) or C
#: (``no_cfunc_wrapper``): each wrapper costs compile time.
jit = njit(no_cpython_wrapper=True, no_cfunc_wrapper=True, **_OPTIONS)


#: Helpers, inlined into their callers before typing: neither compiled nor
#: linked nor cached on their own (called from Python, as the tests do,
#: they compile as ordinary functions). Numba processes an inlined
#: helper's whole code at every call site before it drops any branch, so
#: helpers stay small, and a choice among codes is made in the component's
#: own body.
jit_inline = njit(inline="always", no_cfunc_wrapper=True, **_OPTIONS)


@lru_cache(maxsize=None)
def inline(formula):
    """``formula`` (a plain-Python function of ``kernels/``: an activation,
    a loss term, an update) compiled into its callers, as ``jit_inline``
    does: one dispatcher per formula. A component factory picks the
    formula of its code in Python and closes over it, so the component's
    body holds no branch on the code."""
    return jit_inline(formula)


#: For sums whose order is free (the L2 penalty's value, never a gradient
#: or a parameter): ``reassoc`` alone lets LLVM vectorize the reduction;
#: it keeps NaN and inf semantics. Compiled on its own, so the flag stays
#: there; its code becomes part of every component that calls it.
jit_sum = njit(fastmath={"reassoc"}, no_cpython_wrapper=True, no_cfunc_wrapper=True,
               **_OPTIONS)


def component(py_func, signature, name):
    """``py_func`` (a closure over compile-time constants) compiled as a C
    callback of ``signature``, cached on disk like every kernel. ``name``
    becomes its qualified name, so each component has a cache index of
    its own (processes compiling different components never write the
    same index file). Drivers take its ``address`` (an int) and call it
    through ``caller(signature)``: one driver compile serves every
    component of that signature."""
    py_func.__name__ = py_func.__qualname__ = name
    if config.DISABLE_JIT:  # the Python function itself (see _python.py)
        from ._python import Component

        return Component(py_func)
    args, restype = signature.args, signature.return_type
    compiled = CFunc(py_func, (args, restype), locals={}, options=_OPTIONS)
    compiled.compile()
    return compiled


def machine_code(compiled):
    """``(symbol, object file)`` of the C callback ``compiled`` (a component
    or an entry), as LLVM made it: what ``_native`` loads."""
    return compiled._wrapper_name, compiled._library._get_compiled_object()


@intrinsic
def _pointer(typingctx, address, dtype):
    """The int64 ``address`` as a typed pointer to ``dtype`` entries."""
    result = types.CPointer(dtype.instance_type)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(result))

    return result(address, dtype), codegen


def entry(kernel, kinds):
    """The C callback through which Python calls the driver ``kernel`` with
    arguments of ``kinds`` (``_native.signature``): ``entry(block)``, the
    address of the int64 block ``_native.Entry`` packs, from which it
    makes the driver's arguments (arrays from their address and shape),
    then writes the driver's results after them. Returns the callback and
    the results' kinds (``f`` float, ``i`` int)."""
    from numba import carray, from_dtype

    names = {"carray": carray, "pointer": _pointer, "kernel": kernel, "np": np}
    argtypes, values, slot = [], [], 0
    for k, kind in enumerate(kinds):
        if kind[0] == "a":
            dtype, ndim = np.dtype(kind[1]), int(kind[2:])
            names[f"t{k}"] = dtype.type
            argtypes.append(types.Array(from_dtype(dtype), ndim, "C"))
            shape = "".join(f"b[{slot + 1 + d}], " for d in range(ndim))
            values.append(f"carray(pointer(b[{slot}], t{k}), ({shape}))")
            slot += 1 + ndim
        elif kind == "n":
            argtypes.append(types.none)
            values.append("None")
        else:
            argtypes.append({"b": types.boolean, "i": types.int64, "f": types.float64}[kind])
            values.append(f"b[{slot}] != 0" if kind == "b" else
                          f"f[{slot}]" if kind == "f" else f"b[{slot}]")
            slot += 1
    kernel.compile(tuple(argtypes))
    restype = kernel.overloads[tuple(argtypes)].signature.return_type
    parts = list(restype) if isinstance(restype, types.BaseTuple) else \
        [] if restype == types.none else [restype]
    results = "".join("f" if isinstance(t, types.Float) else "i" for t in parts)
    store = [f"{'f' if r == 'f' else 'b'}[{slot + j}] = r" + (f"[{j}]" if len(parts) > 1 else "")
             for j, r in enumerate(results)]
    n = slot + len(results)
    source = "\n    ".join([
        "def entry(block):",
        f"b = carray(pointer(block, np.int64), ({n},))",
        f"f = carray(pointer(block, np.float64), ({n},))",
        f"r = kernel({', '.join(values)})", *store])
    exec(source, names)
    py_func = names["entry"]
    py_func.__name__ = py_func.__qualname__ = f"{kernel.py_func.__name__}_entry"
    compiled = CFunc(py_func, ((types.int64,), types.void), locals={}, options=_OPTIONS)
    compiled.compile()
    return compiled, results


def caller(signature):
    """An intrinsic ``call(address, *args)`` that calls the C function of
    ``signature`` at ``address`` (a component's) with ``args``: a plain
    indirect call. (Passing the components as numba's first-class
    functions instead made every call from Python type and unbox them, 25
    us a call, and every call site in a driver carry a fallback through
    the interpreter.)"""
    if config.DISABLE_JIT:
        from ._python import caller as python_caller

        return python_caller(signature)
    restype, argtypes = signature.return_type, signature.args

    @intrinsic
    def call(typingctx, address, *args):
        if len(args) != len(argtypes) or not isinstance(address, types.Integer):
            return None
        star = types.StarArgTuple(args)

        def codegen(context, builder, sig, llargs):
            values = [context.cast(builder, v, have, want) for v, have, want in
                      zip(cgutils.unpack_tuple(builder, llargs[1]), args, argtypes)]
            fnty = ir.FunctionType(context.get_value_type(restype),
                                   [context.get_value_type(a) for a in argtypes])
            target = builder.inttoptr(context.cast(builder, llargs[0], address, types.intp),
                                      fnty.as_pointer())
            result = builder.call(target, values)
            return context.get_dummy_value() if restype == types.void else result

        return restype(address, star), codegen

    return call
