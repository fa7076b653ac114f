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
the full-batch loss and gradient, prediction), compiled once per dtype
(the per-sample epoch of a small network once per shape as well, in the
background: ``kernels.cpu.epochs``), and through function pointers a
few *components* (``component``): the hidden and output activation, the
loss, the optimizer step. Each component is compiled for one
activation, loss or solver code only (the code is a compile-time
constant, so numba drops every branch the code cannot take), and each
driver is compiled once whatever the codes: a fit compiles what it
uses, a new activation costs one small component, and the variants add
up instead of multiplying.

Numba types and lowers every branch it meets, so the components branch
on their codes in their own body, where the branches of the other codes
are dropped before typing, and each branch calls a small helper: a
helper that branched on the code itself would be processed whole (a
layer component took 0.45-0.6 s to compile that way, 0.2 s like this).
"""

import ast
import inspect
import textwrap
from functools import lru_cache

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils, config
from numba.core.ccallback import CFunc
from numba.extending import intrinsic

#: Caching is fastnn's own (``_cache``: the units' machine code), not
#: numba's ``cache=True``, which makes import fail where no directory is
#: writable and needs numba to load.
_OPTIONS = dict(nogil=True, error_model="numpy")

#: Drivers: called from Python through their entry alone, whose body is
#: the driver's own (see ``entry``), so never compiled as functions of
#: their own (numba's dispatcher only holds the Python function; with
#: ``NUMBA_DISABLE_JIT=1`` it is the function).
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
#: or a parameter): ``reassoc`` lets LLVM vectorize the reduction and
#: ``contract`` fuse each product into its add (one rounding fewer); both
#: keep NaN and inf semantics. Compiled on its own, so the flags stay
#: there; its code becomes part of every component that calls it, or,
#: where it calls ``wide_vectors``, a function they call.
jit_sum = njit(fastmath={"reassoc", "contract"}, no_cpython_wrapper=True,
               no_cfunc_wrapper=True, **_OPTIONS)


@intrinsic
def wide_vectors(typingctx):
    """Called first in a component's body, in an entry's and in a
    ``jit_sum``'s: its loops vectorize as wide as the CPU's registers go.
    LLVM tunes the Intel CPUs with AVX-512 for 256-bit vectors (as a hedge
    against the clock drop of 512-bit instructions on the first of them),
    and the elementwise loops of the layers, heads and steps, the
    per-sample driver's loops over a row and the penalty's sum then run at
    half width; a fit runs BLAS's 512-bit kernels anyway. Results keep
    their bits (every lane computes what a scalar would), but for the
    penalty's value, whose order is free (``jit_sum``). The function is
    also kept out of its C wrapper, so that no inlining moves its loops
    into a function without the preference."""
    def codegen(context, builder, signature, args):
        attributes = builder.function.attributes
        # A string attribute, printed as given: llvmlite's add() takes
        # only the enumerated ones.
        set.add(attributes, '"prefer-vector-width"="512"')
        attributes.add("noinline")
        return context.get_dummy_value()

    return types.void(), codegen


if config.DISABLE_JIT:
    from ._python import wide_vectors  # noqa: F811


def component(py_func, signature, name):
    """``py_func`` (a closure over compile-time constants) compiled as a C
    callback of ``signature``, whose machine code ``_calls`` keeps on disk
    (``machine_code``) under ``name``, which becomes its qualified name
    too. Drivers take its ``address`` (an int) and call it
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


@intrinsic
def _array(typingctx, address, shape, dtype):
    """The C-contiguous array of ``dtype`` entries and ``shape`` (a tuple)
    at the int64 ``address`` (no owner: the caller keeps it alive). Less to
    type and lower than ``carray``, once for each of an entry's arrays."""
    if not isinstance(shape, types.UniTuple) or not isinstance(dtype, types.NumberClass):
        return None
    arrty = types.Array(dtype.instance_type, len(shape), "C")

    def codegen(context, builder, signature, args):
        ary = context.make_array(arrty)(context, builder)
        item = context.get_data_type(arrty.dtype)
        size = context.get_constant(types.intp, context.get_abi_sizeof(item))
        shapes = cgutils.unpack_tuple(builder, args[1])
        strides, stride = [], size
        for extent in reversed(shapes):
            strides.insert(0, stride)
            stride = builder.mul(stride, extent)
        context.populate_array(ary, data=builder.inttoptr(args[0], item.as_pointer()),
                               shape=shapes, strides=strides, itemsize=size, meminfo=None)
        return ary._getvalue()

    return arrty(address, shape, dtype), codegen


def entry(kernel, kinds, constants=None):
    """The C callback through which Python calls the driver ``kernel`` with
    arguments of ``kinds`` (``_native.signature``): ``entry(block)``, the
    address of the int64 block ``_native.Entry`` packs, from which it
    makes the driver's arguments (arrays from their address and shape),
    then writes the driver's results after them. ``constants`` (a dict)
    replaces globals of the driver's module in the entry's copy of its
    body: values known when compiling (the per-sample driver's
    ``SHAPE``). Returns the callback and the results' kinds (``f`` float,
    ``i`` int), as typing found them."""
    results = []

    @intrinsic
    def store(typingctx, block, slot, value):
        """The driver's results (a number, a tuple of them, or None) into the
        block at ``slot``: a float as float64 bits, an integer as int64."""
        parts = list(value) if isinstance(value, types.BaseTuple) else \
            [] if value == types.none else [value]
        results[:] = ["f" if isinstance(t, types.Float) else "i" for t in parts]

        def codegen(context, builder, signature, args):
            base = builder.inttoptr(args[0], ir.IntType(64).as_pointer())
            values = cgutils.unpack_tuple(builder, args[2]) if len(parts) > 1 else [args[2]]
            for j, (t, v) in enumerate(zip(parts, values)):
                at = builder.gep(base, [builder.add(args[1], ir.Constant(args[1].type, j))])
                if isinstance(t, types.Float):
                    v = builder.bitcast(context.cast(builder, v, t, types.float64),
                                        ir.IntType(64))
                else:
                    v = context.cast(builder, v, t, types.int64)
                builder.store(v, at)
            return context.get_dummy_value()

        return types.void(block, slot, value), codegen

    prologue, slot = [], 0
    py_func = kernel.py_func
    params = py_func.__code__.co_varnames[:py_func.__code__.co_argcount]
    extra = {"_entry_array": _array, "_entry_pointer": _pointer, "_entry_store": store,
             "_entry_wide": wide_vectors}
    for k, (param, kind) in enumerate(zip(params, kinds)):
        if kind[0] == "a":
            extra[f"_entry_t{k}"] = np.dtype(kind[1]).type
            shape = "".join(f"_entry_b[{slot + 1 + d}], " for d in range(int(kind[2:])))
            value = f"_entry_array(_entry_b[{slot}], ({shape}), _entry_t{k})"
            slot += 1 + int(kind[2:])
        elif kind == "n":
            value = "None"
        else:
            value = f"_entry_b[{slot}] != 0" if kind == "b" else \
                f"_entry_f[{slot}]" if kind == "f" else f"_entry_b[{slot}]"
            slot += 1
        prologue.append(f"{param} = {value}")
    # The driver's own body after the prologue, each ``return v`` storing v:
    # a call of the driver from the entry would compile it twice (alone,
    # then linked into the entry), and numba inlines no call of more than
    # 30 arguments.
    tree = ast.parse(textwrap.dedent(inspect.getsource(py_func)))
    body = tree.body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    results_at = f"_entry_block + {slot * 8}"

    class Returns(ast.NodeTransformer):
        def visit_Return(self, node):
            value = node.value or ast.Constant(None)
            store_it = ast.parse(f"_entry_store({results_at}, 0, None)").body[0]
            store_it.value.args[2] = value
            return [store_it, ast.Return(None)]

    body = Returns().visit(ast.Module(body=body, type_ignores=[])).body
    source = "\n".join([
        "def entry(_entry_block):",
        "    _entry_wide()",
        "    _entry_b = _entry_pointer(_entry_block, np.int64)",
        "    _entry_f = _entry_pointer(_entry_block, np.float64)",
        *(f"    {line}" for line in prologue),
        textwrap.indent(ast.unparse(ast.Module(body=body, type_ignores=[])), "    "),
        f"    _entry_store({results_at}, 0, None)" if not _returns(body) else ""])
    names = dict(py_func.__globals__, **extra, **(constants or {}), np=np)
    exec(compile(source, f"<entry of {py_func.__qualname__}>", "exec"), names)
    entry_func = names["entry"]
    entry_func.__name__ = entry_func.__qualname__ = f"{py_func.__name__}_entry"
    compiled = CFunc(entry_func, ((types.int64,), types.void), locals={}, options=_OPTIONS)
    compiled.compile()
    return compiled, "".join(results)


def _returns(body):
    """Whether the statements ``body`` hold a return (one of ours)."""
    return any(isinstance(n, ast.Return) for stmt in body for n in ast.walk(stmt))


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
