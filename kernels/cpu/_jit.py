"""The one place where CPU kernels' compile options are set, and where
the small compiled pieces a fit uses are made.

Every kernel is compiled lazily, on first use, for the dtypes met, cached
on disk (numba falls back to ``~/.cache/numba`` or ``NUMBA_CACHE_DIR``
when the package directory is read-only), and releases the GIL. No
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

from ._cache import kernel_cache

#: Caching is fastnn's own (``_cache.kernel_cache``), not numba's
#: ``cache=True``, which makes import fail where no directory is writable.
_OPTIONS = dict(nogil=True, error_model="numpy")


def jit(py_func):
    """Drivers: called from Python, cached on disk. No C callback wrapper
    (``no_cfunc_wrapper``): drivers are never passed as function pointers,
    and each wrapper costs compile time."""
    dispatcher = njit(no_cfunc_wrapper=True, **_OPTIONS)(py_func)
    dispatcher._cache = kernel_cache(py_func)
    return dispatcher


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
    body holds no branch on the code (the cache keys such a closure by the
    formula's name and code: see ``_cache._KernelCache``)."""
    return jit_inline(formula)


#: For sums whose order is free (the L2 penalty's value, never a gradient
#: or a parameter): ``reassoc`` alone lets LLVM vectorize the reduction;
#: it keeps NaN and inf semantics. Compiled on its own, so the flag stays
#: there.
#: Not cached: its code is part of every component that calls it, and a
#: cache of its own would be an index that processes compiling different
#: components write at once.
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
    compiled._cache = kernel_cache(py_func)
    compiled.compile()
    return compiled


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
