"""Pointers into arrays, and what the drivers do with them: BLAS's matrix
product, and copies of bytes.

The drivers hold every float buffer as bytes (see ``network.py``), so
these work on untyped pointers: ``at`` points into any array; ``gemm``
calls the BLAS routine of either float dtype (``sgemm`` or ``dgemm``,
through numba's helper library, the one ``np.dot`` uses in compiled code)
on pointers into flat buffers: no array views, no layout checks, no
copies, and much less to compile than ``np.dot`` on reshaped slices.
Products on the same operands give the same bits as ``np.dot`` on them.
``copy`` and ``clear`` are memcpy and memset.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic
from numba.np.linalg import ensure_blas

ensure_blas()  # scipy's BLAS, which numba's helper library calls


@intrinsic
def at(typingctx, arr, index):
    """A void pointer to element ``index`` of the C-contiguous ``arr``,
    counted over the flattened array (for a byte buffer: a byte offset)."""
    if not isinstance(arr, types.Array) or not isinstance(index, types.Integer):
        return None
    sig = types.voidptr(arr, types.intp)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.bitcast(builder.gep(data, [args[1]]), cgutils.voidptr_t)

    return sig, codegen


@intrinsic
def typed_at(typingctx, arr, index):
    """A typed pointer to element ``index`` of the C-contiguous ``arr``
    (counted over the flattened array). Indexing it (``p[i]``) is plain
    pointer arithmetic: no bounds, no wraparound of negative indices (which
    keeps LLVM from vectorizing loops over array views whose offsets it
    cannot prove positive), no reference counting."""
    if not isinstance(arr, types.Array) or not isinstance(index, types.Integer):
        return None
    sig = types.CPointer(arr.dtype)(arr, types.intp)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.gep(data, [args[1]])

    return sig, codegen


@intrinsic
def typed(typingctx, p, dtype):
    """The void pointer ``p`` as a typed pointer to ``dtype`` entries (a
    NumPy scalar type), for a component's arguments: see ``typed_at``."""
    if p != types.voidptr or not isinstance(dtype, types.NumberClass):
        return None
    result = types.CPointer(dtype.instance_type)
    sig = result(p, dtype)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(result))

    return sig, codegen


@intrinsic
def offset(typingctx, p, index):
    """The typed pointer ``p`` moved on by ``index`` entries, as a void
    pointer (for the components)."""
    if not isinstance(p, types.CPointer) or not isinstance(index, types.Integer):
        return None
    sig = types.voidptr(p, types.intp)

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.gep(args[0], [args[1]]), cgutils.voidptr_t)

    return sig, codegen


def _blas_scalars(builder, double, beta):
    """Pointers to 1.0 and to ``beta`` in the dtype of the call."""
    voidp = cgutils.voidptr_t

    def scalar(value):
        wide = cgutils.alloca_once_value(builder, value)
        narrow = cgutils.alloca_once_value(builder, builder.fptrunc(value, ir.FloatType()))
        return builder.select(double, builder.bitcast(wide, voidp),
                              builder.bitcast(narrow, voidp))

    return scalar(ir.Constant(ir.DoubleType(), 1.0)), scalar(beta)


def _blas(builder, name, argtypes, values):
    fnty = ir.FunctionType(ir.IntType(32), argtypes)
    builder.call(cgutils.get_or_insert_function(builder.module, fnty, name), values)


def _char(builder, flag):
    i8 = ir.IntType(8)
    return builder.select(flag, ir.Constant(i8, ord("t")), ir.Constant(i8, ord("n")))


def _matrix_product(context, builder, double, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta,
                    c, ldc):
    """BLAS's gemm on row-major operands with leading dimensions (entries
    from one row to the next) ``lda``, ``ldb``, ``ldc``: row-major c =
    op(a) op(b) is column-major c^T = op(b)^T op(a)^T, so b comes first and
    rows become columns."""
    i8 = ir.IntType(8)
    intp = context.get_value_type(types.intp)
    voidp = cgutils.voidptr_t
    kind = builder.select(double, ir.Constant(i8, ord("d")), ir.Constant(i8, ord("s")))
    alpha, beta_p = _blas_scalars(builder, double, beta)
    _blas(builder, "numba_xxgemm", [i8, i8, i8, intp, intp, intp, voidp, voidp, intp, voidp,
                                    intp, voidp, voidp, intp], [
        kind, _char(builder, trans_b), _char(builder, trans_a), n, m, k, alpha, b, ldb, a, lda,
        beta_p, c, ldc])


@intrinsic
def gemm(typingctx, double, trans_a, trans_b, m, n, k, a, b, beta, c):
    """``c = op(a) @ op(b) + beta * c`` for row-major, contiguous float64
    (``double``) or float32 matrices at the void pointers ``a``, ``b``,
    ``c``: ``op(a)`` is (m, k), ``op(b)`` (k, n), ``c`` (m, n); ``op(x)``
    is ``x`` as stored, or its transpose when ``trans_x`` (then ``a`` is
    stored (k, m), ``b`` (n, k)). ``beta`` 0 overwrites ``c``, 1 adds to
    it. As ``np.dot`` does, a product with a vector (m or n 1) goes to
    BLAS's matrix-vector routine, and of two vectors to its dot product:
    the same routines on the same operands give the same bits."""
    sig = types.void(types.boolean, types.boolean, types.boolean, types.intp, types.intp,
                     types.intp, types.voidptr, types.voidptr, types.float64, types.voidptr)

    def codegen(context, builder, signature, args):
        double, trans_a, trans_b, m, n, k, a, b, beta, c = args
        i8 = ir.IntType(8)
        intp = context.get_value_type(types.intp)
        voidp = cgutils.voidptr_t
        one = ir.Constant(intp, 1)
        kind = builder.select(double, ir.Constant(i8, ord("d")), ir.Constant(i8, ord("s")))

        def pick(flag, if_true, if_false):
            return builder.select(flag, if_true, if_false)

        def lead(v):  # BLAS rejects a leading dimension below 1
            return builder.select(builder.icmp_signed("<", v, one), one, v)

        alpha, beta_p = _blas_scalars(builder, double, beta)
        gemv_args = [i8, i8, intp, intp, voidp, voidp, intp, voidp, voidp, voidp]
        m_vec = builder.icmp_signed("==", m, one)
        n_vec = builder.icmp_signed("==", n, one)
        with builder.if_else(n_vec) as (right_vector, right_matrix):
            with right_vector:
                with builder.if_else(m_vec) as (both, left_matrix):
                    with both:  # one dot product of k entries
                        wide = cgutils.alloca_once(builder, ir.DoubleType())
                        narrow = cgutils.alloca_once(builder, ir.FloatType())
                        out = pick(double, builder.bitcast(wide, voidp),
                                   builder.bitcast(narrow, voidp))
                        _blas(builder, "numba_xxdot", [i8, i8, intp, voidp, voidp, voidp],
                              [kind, ir.Constant(i8, 0), k, a, b, out])
                        with builder.if_else(double) as (f64, f32):
                            with f64:
                                cptr = builder.bitcast(c, ir.DoubleType().as_pointer())
                                old = builder.fmul(beta, builder.load(cptr))
                                builder.store(builder.fadd(builder.load(wide), old), cptr)
                            with f32:
                                cptr = builder.bitcast(c, ir.FloatType().as_pointer())
                                old = builder.fmul(builder.fptrunc(beta, ir.FloatType()),
                                                   builder.load(cptr))
                                builder.store(builder.fadd(builder.load(narrow), old), cptr)
                    with left_matrix:  # op(a) times a vector
                        _blas(builder, "numba_xxgemv", gemv_args, [
                            kind, _char(builder, builder.not_(trans_a)), pick(trans_a, m, k),
                            pick(trans_a, k, m), alpha, a, lead(pick(trans_a, m, k)), b, beta_p,
                            c])
            with right_matrix:
                with builder.if_else(m_vec) as (left_vector, both_matrices):
                    with left_vector:  # a vector times op(b)
                        _blas(builder, "numba_xxgemv", gemv_args, [
                            kind, _char(builder, trans_b), pick(trans_b, k, n),
                            pick(trans_b, n, k), alpha, b, lead(pick(trans_b, k, n)), a, beta_p,
                            c])
                    with both_matrices:
                        _matrix_product(context, builder, double, trans_a, trans_b, m, n, k, a,
                                        lead(pick(trans_a, m, k)), b, lead(pick(trans_b, k, n)),
                                        beta, c, lead(n))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def gemm_rows(typingctx, double, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc):
    """``gemm``'s matrix product (m and n at least 2) on blocks of larger
    row-major matrices: ``lda``, ``ldb``, ``ldc`` entries from one row of
    each (as stored) to the next. A block of a product's rows is ``a``
    (or, transposed, its columns) and ``c`` moved on to the block's first
    row, with the whole matrices' leading dimensions (``pool.team_gemm``)."""
    sig = types.void(types.boolean, types.boolean, types.boolean, types.intp, types.intp,
                     types.intp, types.voidptr, types.intp, types.voidptr, types.intp,
                     types.float64, types.voidptr, types.intp)

    def codegen(context, builder, signature, args):
        _matrix_product(context, builder, *args)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def prefetch(typingctx, p, index):
    """Ask for the cache line of entry ``index`` of the typed pointer ``p``
    (a hint: the values are left as they are, nothing is waited for)."""
    if not isinstance(p, types.CPointer) or not isinstance(index, types.Integer):
        return None
    sig = types.void(p, types.intp)

    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch")
        # A read, kept in every cache level, of data.
        builder.call(fn, [builder.bitcast(builder.gep(args[0], [args[1]]), i8p), i32(0), i32(3),
                          i32(1)])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def copy(typingctx, dst, src, nbytes):
    """memcpy: ``nbytes`` bytes from the pointer ``src`` to ``dst`` (not
    overlapping)."""
    sig = types.void(types.voidptr, types.voidptr, types.intp)

    def codegen(context, builder, signature, args):
        dst, src, nbytes = args
        i8p = ir.IntType(8).as_pointer()
        cgutils.raw_memcpy(builder, builder.bitcast(dst, i8p), builder.bitcast(src, i8p),
                           nbytes, 1)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def clear(typingctx, dst, nbytes):
    """memset to 0: ``nbytes`` bytes at the pointer ``dst``."""
    sig = types.void(types.voidptr, types.intp)

    def codegen(context, builder, signature, args):
        dst, nbytes = args
        cgutils.memset(builder, builder.bitcast(dst, ir.IntType(8).as_pointer()), nbytes, 0)
        return context.get_dummy_value()

    return sig, codegen


if config.DISABLE_JIT:  # NUMBA_DISABLE_JIT=1: the same operations in Python (see _python.py)
    from ._python import (at, carray, clear, copy, gemm, gemm_rows, offset, prefetch,  # noqa: F811
                          typed, typed_at)
else:
    from numba import carray  # noqa: F401
