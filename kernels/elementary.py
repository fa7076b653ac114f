"""exp, expm1, log1p and tanh that vectorize, in float64 and float32.

numba (0.62 on) compiles ``math.exp`` and ``math.tanh`` in a loop to one
scalar libm call per element, which LLVM cannot vectorize: tanh costs
15 ns an element where NumPy's vector code takes 1.3 ns. The functions
here are plain arithmetic instead (a range reduction, a polynomial, and
2**k built from its bits), which LLVM vectorizes in the loops of the CPU
kernels that call them.

- ``exp``: x = k ln2 + r, |r| <= ln2 / 2 (ln2 split in two, so k ln2 is
  exact), exp(r) by its Taylor polynomial (degree 13 in float64, 7 in
  float32: the first term left out is below half an ulp), times 2**k
  applied in two halves (so results down into the subnormals round once).
- ``expm1``: the same reduction; e**r - 1 by the polynomial without its
  constant term, then 2**k (e**r - 1) + (2**k - 1), exact for k = 0 (no
  cancellation near 0).
- ``tanh``: expm1(2|x|) / (expm1(2|x|) + 2), with x's sign; |x| clamped
  where tanh is 1 to the last bit, which leaves expm1 one case of its
  reduction (the same bits as the whole expm1, a third less work).
- ``log1p``: u = 1 + x = m 2**e from u's bits (m in [sqrt(2)/2, sqrt(2))),
  log(m) = 2 atanh(s), s = (m - 1) / (m + 1), by its series in s**2 (10
  terms in float64, 5 in float32), plus e ln2 and the rounding of u,
  (x - (u - 1)) / u.

Each is within a few ulp of NumPy over the whole range, with NumPy's NaN,
inf, overflow and signed-zero results (tests/test_elementary.py). The
same Python runs uncompiled (``NUMBA_DISABLE_JIT=1``, the CUDA simulator)
and gives the same bits. Compiled for the CPU, LLVM inlines each call; the
GPU keeps its hardware functions (``kernels.cuda`` registers ``math.exp``
and friends under these names for its target).
"""

import math

import numpy as np
from numba import types
from numba.cpython.unsafe.numbers import viewer
from numba.extending import overload, register_jitable

# ln2 = LN2_HI + LN2_LO, LN2_HI with 32 significant bits in float64 (16 in
# float32): k * LN2_HI is exact for every k the reductions meet.
_LN2_HI, _LN2_LO = 0.6931471803691238, 1.9082149292705877e-10
_LN2_HI32, _LN2_LO32 = np.float32(0.693145751953125), np.float32(1.4286068e-06)
_LOG2E = 1.4426950408889634
#: 1 / n!, n = 2..13 (float64) and 2..7 (float32): expm1's Taylor terms past r
_EXPM1 = tuple(1.0 / math.factorial(n) for n in range(2, 14))
_EXPM1_32 = tuple(np.float32(c) for c in _EXPM1[:6])
#: 2 / (2n + 3), n = 0..9: log(1 + f) = 2 atanh(s), s = f / (2 + f)
_LOG_SERIES = tuple(2.0 / (2 * n + 3) for n in range(10))
_LOG_SERIES32 = tuple(np.float32(c) for c in _LOG_SERIES[:5])


def _pow2(k):
    """2.0**k as a float64 for integer k in [-1022, 1023]."""
    return np.float64(math.ldexp(1.0, int(k)))


def _pow2_32(k):
    """2.0**k as a float32 for integer k in [-126, 127]."""
    return np.float32(math.ldexp(1.0, int(k)))


@overload(_pow2, target="cpu")
def _pow2_bits(k):
    def impl(k):  # the exponent field, the mantissa 0
        return viewer(np.int64((k + 1023) << 52), types.float64)
    return impl


@overload(_pow2_32, target="cpu")
def _pow2_32_bits(k):
    def impl(k):
        return viewer(np.int32((k + 127) << 23), types.float32)  # int32 bits: a float32
    return impl


def _bits(x):
    """The bits of the float64 x, as an int64."""
    return np.float64(x).view(np.int64)


def _from_bits(i):
    """The float64 of the int64 bits i."""
    return np.int64(i).view(np.float64)


def _bits32(x):
    return np.float32(x).view(np.int32)


def _from_bits32(i):
    return np.int32(i).view(np.float32)


@overload(_bits, target="cpu")
def _bits_cpu(x):
    return lambda x: viewer(np.float64(x), types.int64)


@overload(_from_bits, target="cpu")
def _from_bits_cpu(i):
    return lambda i: viewer(np.int64(i), types.float64)


@overload(_bits32, target="cpu")
def _bits32_cpu(x):
    return lambda x: viewer(np.float32(x), types.int32)


@overload(_from_bits32, target="cpu")
def _from_bits32_cpu(i):
    return lambda i: viewer(np.int32(i), types.float32)


def _clamp(x, low, high):
    """x within [low, high]; NaN gives ``low`` (callers put NaN back)."""
    if not x > low:
        return low
    return high if x > high else x


def _reduce64(x):
    """(k, r): x = k ln2 + r, |r| <= ln2 / 2 (for x within +-746)."""
    k = math.floor(x * _LOG2E + 0.5)
    kf = np.float64(k)
    return k, (x - kf * _LN2_HI) - kf * _LN2_LO


def _reduce32(x):
    k = math.floor(x * np.float32(_LOG2E) + np.float32(0.5))
    kf = np.float32(k)
    return k, (x - kf * _LN2_HI32) - kf * _LN2_LO32


def _horner(coefs, z):
    """coefs[0] + coefs[1] z + coefs[2] z**2 + ..., by Horner's rule."""
    p = coefs[-1]
    for i in range(len(coefs) - 2, -1, -1):
        p = p * z + coefs[i]
    return p


def _expm1_poly(r, coefs):
    """e**r - 1 for |r| <= ln2 / 2: r + r**2 (1/2! + r/3! + ...), the
    Taylor polynomial of degree 13 (float64, ``_EXPM1``) or 7 (float32)."""
    return r + r * r * _horner(coefs, r)


def _exp64(x):
    xc = _clamp(x, -746.0, 710.0)
    k, r = _reduce64(xc)
    half = k >> 1
    y = (1.0 + _expm1_poly(r, _EXPM1)) * _pow2(half) * _pow2(k - half)
    if x > 709.782712893384:
        y = math.inf
    if x < -745.1332191019412:
        y = 0.0
    if x != x:
        y = x
    return y


def _exp32(x):
    xc = _clamp(x, np.float32(-104.0), np.float32(89.0))
    k, r = _reduce32(xc)
    half = k >> 1
    y = (np.float32(1.0) + _expm1_poly(r, _EXPM1_32)) * _pow2_32(half) * _pow2_32(k - half)
    if x > np.float32(88.72283):
        y = np.float32(math.inf)
    if x < np.float32(-103.97208):
        y = np.float32(0.0)
    if x != x:
        y = x
    return y


def _expm1_64(x):
    xc = _clamp(x, -60.0, 710.0)  # expm1 is -1 to the bit below -38
    k, r = _reduce64(xc)
    em = _expm1_poly(r, _EXPM1)
    half = k >> 1
    s = _pow2(min(k, 1023))
    near = s * em + (s - 1.0)  # k <= 56: 2**k - 1 is exact
    far = (1.0 + em) * _pow2(half) * _pow2(k - half) - 1.0
    y = em if k == 0 else (near if k <= 56 else far)
    if x > 709.782712893384:
        y = math.inf
    if x != x or x == 0.0:  # NaN, and the sign of a zero
        y = x
    return y


def _expm1_32(x):
    xc = _clamp(x, np.float32(-30.0), np.float32(89.0))
    k, r = _reduce32(xc)
    em = _expm1_poly(r, _EXPM1_32)
    half = k >> 1
    s = _pow2_32(min(k, 127))
    one = np.float32(1.0)
    near = s * em + (s - one)  # k <= 25: 2**k - 1 is exact
    far = (one + em) * _pow2_32(half) * _pow2_32(k - half) - one
    y = em if k == 0 else (near if k <= 25 else far)
    if x > np.float32(88.72283):
        y = np.float32(math.inf)
    if x != x or x == 0.0:  # NaN, and the sign of a zero
        y = x
    return y


def _tanh64(x):
    # tanh(19.1) is 1 to the bit. expm1 of 2|x| <= 38.2, k <= 55, is its
    # near case alone (k = 0 included, with r >= 0): none of expm1's other
    # cases, clamps and checks, 30% of tanh's time in a layer.
    k, r = _reduce64(2.0 * min(abs(x), 19.1))
    s = _pow2(k)
    e = s * _expm1_poly(r, _EXPM1) + (s - 1.0)
    y = math.copysign(e / (e + 2.0), x)
    if x != x:
        y = x
    return y


def _tanh32(x):
    # As _tanh64, with tanh(9.1) 1 to the bit. For 2|x| in (17.7, 18.2],
    # k = 26, where 2**k - 1 rounds to 2**k: the same bits still, for every
    # float32 (all 2**32 compared with the full expm1's, 2026-12-01).
    k, r = _reduce32(np.float32(2.0) * min(abs(x), np.float32(9.1)))
    s = _pow2_32(k)
    e = s * _expm1_poly(r, _EXPM1_32) + (s - np.float32(1.0))
    y = math.copysign(e / (e + np.float32(2.0)), x)
    if x != x:
        y = x
    return y


def _log1p64(x):
    u = 1.0 + x
    bits = _bits(u)
    e = (bits >> 52) - 1023
    m = _from_bits((bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)  # u = m 2**e, m in [1, 2)
    if m > 1.4142135623730951:
        m = 0.5 * m
        e = e + 1
    f = m - 1.0  # exact; m in [sqrt(2) / 2, sqrt(2))
    c = (x - (u - 1.0)) / u  # the rounding of u = 1 + x: log1p(x) = log(u) + c
    s = f / (2.0 + f)
    z = s * s
    r = _horner(_LOG_SERIES, z)
    hfsq = 0.5 * f * f
    ef = np.float64(e)
    y = ef * _LN2_HI + ((f - hfsq) + (s * (hfsq + z * r) + (ef * _LN2_LO + c)))
    if x == math.inf:
        y = x
    if x == -1.0:
        y = -math.inf
    if x < -1.0 or x != x:
        y = math.nan
    if x == 0.0:  # the sign of a zero
        y = x
    return y


def _log1p32(x):
    one = np.float32(1.0)
    u = one + x
    bits = _bits32(u)
    e = (bits >> 23) - 127
    m = _from_bits32((bits & 0x7FFFFF) | 0x3F800000)
    if m > np.float32(1.4142135):
        m = np.float32(0.5) * m
        e = e + 1
    f = m - one
    c = (x - (u - one)) / u
    s = f / (np.float32(2.0) + f)
    z = s * s
    r = _horner(_LOG_SERIES32, z)
    hfsq = np.float32(0.5) * f * f
    ef = np.float32(e)
    y = ef * _LN2_HI32 + ((f - hfsq) + (s * (hfsq + z * r) + (ef * _LN2_LO32 + c)))
    if x == np.float32(math.inf):
        y = x
    if x == -one:
        y = np.float32(-math.inf)
    if x < -one or x != x:
        y = np.float32(math.nan)
    if x == np.float32(0.0):
        y = x
    return y


def exp(x):
    """e**x in x's float dtype."""
    return _exp32(x) if isinstance(x, np.float32) else _exp64(np.float64(x))


def expm1(x):
    """e**x - 1 in x's float dtype."""
    return _expm1_32(x) if isinstance(x, np.float32) else _expm1_64(np.float64(x))


def tanh(x):
    """tanh(x) in x's float dtype."""
    return _tanh32(x) if isinstance(x, np.float32) else _tanh64(np.float64(x))


def log1p(x):
    """log(1 + x) in x's float dtype."""
    return _log1p32(x) if isinstance(x, np.float32) else _log1p64(np.float64(x))


# Compiled for the CPU, each helper is a function of its own, compiled once
# per dtype and process; LLVM inlines them into the loops that call them,
# and vectorizes those. (Inlined by numba instead, before typing, they cost
# each component that uses tanh 0.5-2.3 s more to compile.)
# Never called from Python, so without numba's wrappers for it (12% of a
# first exp's compile).
for _helper in (_clamp, _horner, _reduce64, _reduce32, _expm1_poly, _exp64, _exp32,
                _expm1_64, _expm1_32, _tanh64, _tanh32, _log1p64, _log1p32):
    register_jitable(no_cpython_wrapper=True, no_cfunc_wrapper=True)(_helper)


def _by_dtype(f64, f32):
    """The CPU overload generator of a function with these float64 and
    float32 implementations."""
    def generator(x):
        if x == types.float32:
            return f32
        if isinstance(x, types.Float):
            return f64
        return None
    return generator


for _f, _f64, _f32 in ((exp, _exp64, _exp32), (expm1, _expm1_64, _expm1_32),
                       (tanh, _tanh64, _tanh32), (log1p, _log1p64, _log1p32)):
    overload(_f, target="cpu")(_by_dtype(_f64, _f32))
