"""exp, expm1, log1p, tanh and erf that vectorize, in float64 and float32.

numba (0.62 on) compiles ``math.exp`` and ``math.tanh`` in a loop to one
scalar libm call per element, which LLVM cannot vectorize: tanh costs
15 ns an element where NumPy's vector code takes 1.3 ns. The functions
here are plain arithmetic instead (a range reduction, a polynomial, and
2**k built from its bits), which LLVM vectorizes in the loops of the CPU
kernels that call them.

- ``exp``: x = k ln2 + r, |r| <= ln2 / 2 (k = x log2e rounded, ln2 split
  in two, so k ln2 is exact), exp(r) by a polynomial (degree 11 in
  float64, fitted by docs/fit_exp.py; float32's Taylor polynomial of
  degree 7: the first term left out is below half an ulp), times 2**k
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
  (x - (u - 1)) / u. ``log1p_unit``, for x in [0, 1] (softplus's
  log1p(e**-|x|)): m = 1 + x itself up to sqrt(2), else (1 + x) / 2, f = m
  - 1 exact from x either way, so neither the bits nor the correction.
- ``erf``: x + x P(x**2) below 1.5, 1 - exp(-x**2) Q(x - 1.5) from there
  (erfc as exp(-x**2) times erfcx, whose error counts only as far as it
  moves erf), P and Q polynomials fitted by docs/fit_erf.py; both pieces
  are computed and one kept, so the loop vectorizes. ``erf_gauss`` takes
  exp(-x**2) from its caller (gelu needs it anyway).

Every polynomial step, and each reduction's ``x - k ln2``, is one fused
multiply-add (``fma``: one rounding). numba compiles ``a * b + c`` as a
multiply and an add, as it must without ``fastmath``; the fused steps
take half the instructions (docs/performance.md has what the layers
gained). float64's long polynomials in exp's and log's reductions (10
terms each) are four interleaved Horner chains (``_poly``): one Horner
chain of 11 dependent steps, after the reduction's own, was longer than
the processor could overlap from one vector of elements to the next.
erf's two polynomials, whose terms are larger than their sums, keep
Horner's rule and its accuracy.

Each is within a few ulp of NumPy over the whole range, with NumPy's NaN,
inf, overflow and signed-zero results (tests/test_elementary.py). The
same Python runs uncompiled (``NUMBA_DISABLE_JIT=1``, the CUDA simulator)
and gives the same bits. Compiled for the CPU, LLVM inlines each call; the
GPU keeps its hardware functions (``kernels.cuda`` registers ``math.exp``
and friends under these names for its target).
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.cpython.unsafe.numbers import viewer
from numba.extending import intrinsic, overload, register_jitable

# ln2 = LN2_HI + LN2_LO, LN2_HI with 32 significant bits in float64 (16 in
# float32): k * LN2_HI is exact for every k the reductions meet.
_LN2_HI, _LN2_LO = 0.6931471803691238, 1.9082149292705877e-10
_LN2_HI32, _LN2_LO32 = np.float32(0.693145751953125), np.float32(1.4286068e-06)
_LOG2E = 1.4426950408889634
#: 1.5 * 2**52 and 1.5 * 2**23, and their bits (``_reduce64``)
_SHIFTER, _SHIFTER32 = 6755399441055744.0, np.float32(12582912.0)
_SHIFTER_BITS = int(np.float64(_SHIFTER).view(np.int64))
_SHIFTER32_BITS = int(_SHIFTER32.view(np.int32))
#: q(r), e**r - 1 = r + r**2 q(r) for |r| <= ln2 / 2. float64: fitted by
#: docs/fit_exp.py, degree 9 (0.16 ulp of expm1 at worst before rounding in
#: the evaluation), two terms fewer than the Taylor polynomial needed;
#: float32: the Taylor terms 1 / n!, n = 2..7 (the fit's one term fewer
#: came to 3 ulp of exp).
_EXPM1 = (0.5000000000000006, 0.16666666666666602, 0.04166666666657392, 0.008333333333381647,
          0.0013888888932249966, 0.0001984126973571791, 2.480150461554659e-05,
          2.75573929647509e-06, 2.7626257010035394e-07, 2.5058286683046416e-08)
_EXPM1_32 = tuple(np.float32(1.0 / math.factorial(n)) for n in range(2, 8))
#: 2 / (2n + 3), n = 0..9: log(1 + f) = 2 atanh(s), s = f / (2 + f)
_LOG_SERIES = tuple(2.0 / (2 * n + 3) for n in range(10))
_LOG_SERIES32 = tuple(np.float32(c) for c in _LOG_SERIES[:5])

#: erf (``_erf64``, ``_erf32``): erf(t) / t - 1 in t**2 below 1.5, and
#: erfcx(t) = e**(t**2) erfc(t) in t - 1.5 from there; fitted by
#: docs/fit_erf.py (weighted least squares in 40 digits, each coefficient
#: rounded in turn), 0.12 ulp of erf at worst before rounding in the
#: evaluation. erf is 1 to the bit from 5.92 (float64) and 3.92 (float32).
_ERF_HEAD = (0.12837916709551256, -0.376126389031836, 0.11283791670951045, -0.02686617064465705,
             0.005223977622428256, -0.0008548326905363798, 0.00012055329916738026,
             -1.4925595210215024e-05, 1.6461406843531814e-06, -1.6359269700877324e-07,
             1.4762701866942328e-08, -1.2072441259661957e-09, 8.660958363811341e-11,
             -4.875557238294313e-12, 1.5674920336625362e-13)
_ERF_TAIL = (0.3215854164543174, -0.16362291773251034, 0.07615103985236492, -0.032930905224442746,
             0.013377340020933964, -0.0051459506744637624, 0.0018861020416632195,
             -0.0006618225653064809, 0.0002230592135052976, -7.223070122864936e-05,
             2.2317973574098737e-05, -6.446460674496139e-06, 1.674573793111484e-06,
             -3.6986542793388516e-07, 6.472715350061012e-08, -8.204937528760752e-09,
             6.575161890555815e-10, -2.468186361937597e-11)
_ERF_HEAD32 = tuple(np.float32(c) for c in (
    0.12837915, -0.37612548, 0.11282963, -0.026836947,
    0.005172501, -0.000804383, 9.197142e-05, -5.655004e-06))
_ERF_TAIL32 = tuple(np.float32(c) for c in (
    0.32158542, -0.16362253, 0.0761406, -0.032842185,
    0.013035037, -0.004453402, 0.0010980485, -0.00013468877))


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


def fma(a, b, c):
    """a * b + c with one rounding, in the dtype of a (b and c of the
    same float dtype). Compiled for the CPU it is LLVM's ``llvm.fma``, one
    fused multiply-add instruction (numba, without ``fastmath``, never
    contracts ``a * b + c`` into one: a multiply and an add, two roundings
    and twice the instructions of every polynomial step). As Python it is
    computed exactly and rounded once, so the uncompiled paths keep the
    compiled bits (on a CPU with FMA instructions; see
    ``fused_on_this_cpu``)."""
    if isinstance(a, np.float32):
        return _fma32(a, b, c)
    return np.float64(_fma_exact(float(a), float(b), float(c)))


def _exact_sum(a, b, c):
    """(numerator, denominator) of a * b + c exactly, for finite floats."""
    na, da = a.as_integer_ratio()
    nb, db = b.as_integer_ratio()
    nc, dc = c.as_integer_ratio()
    return na * nb * dc + nc * da * db, da * db * dc


def _fma_exact(a, b, c):
    """a * b + c rounded once to float64 (Python floats)."""
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)) or a == 0.0 or b == 0.0:
        return a * b + c  # inf and NaN as IEEE has them; a zero product is exact
    num, den = _exact_sum(a, b, c)
    if num == 0:
        return 0.0  # an exact cancellation rounds to +0
    try:
        return num / den  # int / int is correctly rounded, subnormals included
    except OverflowError:
        return math.inf if num > 0 else -math.inf


def _fma32(a, b, c):
    """a * b + c rounded once to float32: to float64 first, which is right
    unless it lands on a midpoint between two float32s that the exact
    value is not on (the second rounding would then go by ties-to-even
    instead of by the exact value)."""
    a, b, c = float(a), float(b), float(c)
    r = _fma_exact(a, b, c)
    if math.isfinite(r) and r != 0.0:
        q = max(math.frexp(r)[1] - 24, -149)  # the float32 ulp at r is 2**q
        t = math.ldexp(r, 1 - q)
        if t == int(t) and int(t) % 2 == 1:  # r is a midpoint
            num, den = _exact_sum(a, b, c)
            rn, rd = r.as_integer_ratio()
            if num * rd != rn * den:
                half = math.ldexp(1.0, q - 1)
                r = r + half if num * rd > rn * den else r - half
    with np.errstate(over="ignore"):
        return np.float32(r)


def _clamp(x, low, high):
    """x within [low, high]; NaN gives ``low`` (callers put NaN back)."""
    if not x > low:
        return low
    return high if x > high else x


def _reduce64(x):
    """(k, r): x = k ln2 + r, |r| <= ln2 / 2 (for x within +-746). k is x
    log2e rounded to the nearest integer by adding 1.5 * 2**52
    (``_SHIFTER``): the sum's last bits are k, taken from them as an
    integer and, subtracting the shifter again, as a float: three
    instructions where a floor and two conversions took five."""
    s = fma(x, _LOG2E, _SHIFTER)
    kf = s - _SHIFTER
    return _bits(s) - _SHIFTER_BITS, fma(-kf, _LN2_LO, fma(-kf, _LN2_HI, x))


def _reduce32(x):
    # k as an int32 (1.5 * 2**23's last bits): a float32 lane's k fits
    # the lane, where an int64 took two registers a vector.
    s = fma(x, np.float32(_LOG2E), _SHIFTER32)
    kf = s - _SHIFTER32
    return np.int32(_bits32(s) - _SHIFTER32_BITS), fma(-kf, _LN2_LO32, fma(-kf, _LN2_HI32, x))


def _horner(coefs, z):
    """coefs[0] + coefs[1] z + coefs[2] z**2 + ..., by Horner's rule."""
    p = coefs[-1]
    for i in range(len(coefs) - 2, -1, -1):
        p = fma(p, z, coefs[i])
    return p


def _poly(coefs, z):
    """``_horner(coefs, z)`` for |z| <= 1 and terms that shrink (exp's and
    log's series), in a third of its latency from 8 terms on: four Horner
    chains in z**4, of every fourth coefficient each, combined as (p0 + z
    p1) + z**2 (p2 + z p3). A shorter polynomial (float32's) is quicker by
    Horner's rule, in fewer operations."""
    n = len(coefs)
    if n < 8:  # Horner's loop itself: numba compiles both branches, and a
        p = coefs[-1]  # call would compile _horner for the long tuples too
        for i in range(n - 2, -1, -1):
            p = fma(p, z, coefs[i])
        return p
    z2 = z * z
    z4 = z2 * z2
    return fma(fma(_chain(coefs, 3, z4), z, _chain(coefs, 2, z4)), z2,
               fma(_chain(coefs, 1, z4), z, _chain(coefs, 0, z4)))


def _chain(coefs, j, w):
    """coefs[j] + coefs[j + 4] w + coefs[j + 8] w**2 + ..., by Horner's
    rule. A function of its own (one compile per tuple type, inlined by
    LLVM with j known): written out in ``_poly``, the four chains' tuple
    indexing made the softmax head compile 0.1-0.2 s slower."""
    top = j + 4 * ((len(coefs) - 1 - j) // 4)
    p = coefs[top]
    for i in range(top - 4, j - 1, -4):
        p = fma(p, w, coefs[i])
    return p


def _expm1_poly(r, coefs):
    """e**r - 1 for |r| <= ln2 / 2: r + r**2 q(r), q of degree 9 (float64,
    ``_EXPM1``) or 5 (float32)."""
    return fma(r * r, _poly(coefs, r), r)


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
    near = fma(s, em, s - 1.0)  # k <= 56: 2**k - 1 is exact
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
    near = fma(s, em, s - one)  # k <= 25: 2**k - 1 is exact
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
    e = fma(s, _expm1_poly(r, _EXPM1), s - 1.0)
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
    e = fma(s, _expm1_poly(r, _EXPM1_32), s - np.float32(1.0))
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
    r = _poly(_LOG_SERIES, z)
    hfsq = 0.5 * f * f
    ef = np.float64(e)
    y = fma(ef, _LN2_HI, (f - hfsq) + fma(s, fma(z, r, hfsq), fma(ef, _LN2_LO, c)))
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
    r = _poly(_LOG_SERIES32, z)
    hfsq = np.float32(0.5) * f * f
    ef = np.float32(e)
    y = fma(ef, _LN2_HI32, (f - hfsq) + fma(s, fma(z, r, hfsq), fma(ef, _LN2_LO32, c)))
    if x == np.float32(math.inf):
        y = x
    if x == -one:
        y = np.float32(-math.inf)
    if x < -one or x != x:
        y = np.float32(math.nan)
    if x == np.float32(0.0):
        y = x
    return y


def _log1p_unit64(x):
    # u = 1 + x in [1, 2]: m = u (f = x, exact) up to sqrt(2), else u / 2
    # (f = (x - 1) / 2, exact): no bits to take apart, and no rounding of
    # u to correct for.
    big = x > 0.41421356237309503
    f = 0.5 * (x - 1.0) if big else x
    s = f / (2.0 + f)
    z = s * s
    hfsq = 0.5 * f * f
    # k ln2 for k = u's exponent, 0 or 1: a choice, not a multiply
    w = (f - hfsq) + fma(s, fma(z, _poly(_LOG_SERIES, z), hfsq), _LN2_LO if big else 0.0)
    return _LN2_HI + w if big else w


def _log1p_unit32(x):
    one, half = np.float32(1.0), np.float32(0.5)
    big = x > np.float32(0.41421357)
    f = half * (x - one) if big else x
    s = f / (np.float32(2.0) + f)
    z = s * s
    hfsq = half * f * f
    w = (f - hfsq) + fma(s, fma(z, _poly(_LOG_SERIES32, z), hfsq),
                         _LN2_LO32 if big else np.float32(0.0))
    return _LN2_HI32 + w if big else w


def _erf64(x, g):
    t = abs(x)
    near = fma(t, _horner(_ERF_HEAD, t * t), t)
    # t clamped where erf is 1 to the bit (g keeps the rest below half an ulp)
    far = fma(-g, _horner(_ERF_TAIL, min(t, 5.95) - 1.5), 1.0)
    y = math.copysign(far if t >= 1.5 else near, x)
    if x != x:
        y = x
    return y


def _erf32(x, g):
    t = abs(x)
    near = fma(t, _horner(_ERF_HEAD32, t * t), t)
    far = fma(-g, _horner(_ERF_TAIL32, min(t, np.float32(3.95)) - np.float32(1.5)), np.float32(1.0))
    y = math.copysign(far if t >= np.float32(1.5) else near, x)
    if x != x:
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


def log1p_unit(x):
    """log(1 + x) in x's float dtype for x in [0, 1] (or NaN), as softplus
    needs it: log1p's reduction without its bits and its correction."""
    return _log1p_unit32(x) if isinstance(x, np.float32) else _log1p_unit64(np.float64(x))


def erf_gauss(x, g):
    """erf(x) in x's float dtype, from ``g = exp(-(x * x))``: gelu needs
    that exp for its derivative too, and passes it. (exp and the
    polynomials are inlined into the loop one by one; as one function,
    erf is too long for LLVM to inline, and the loop that calls it does
    not vectorize.)"""
    return _erf32(x, g) if isinstance(x, np.float32) else _erf64(np.float64(x), np.float64(g))


def erf(x):
    """erf(x) in x's float dtype."""
    return erf_gauss(x, exp(-(x * x)))


# Compiled for the CPU, each helper is a function of its own, compiled once
# per dtype and process; LLVM inlines them into the loops that call them,
# and vectorizes those. (Inlined by numba instead, before typing, they cost
# each component that uses tanh 0.5-2.3 s more to compile.)
# Never called from Python, so without numba's wrappers for it (12% of a
# first exp's compile).
for _helper in (_clamp, _horner, _poly, _chain, _reduce64, _reduce32, _expm1_poly, _exp64, _exp32,
                _expm1_64, _expm1_32, _tanh64, _tanh32, _log1p64, _log1p32, _log1p_unit64,
                _log1p_unit32, _erf64, _erf32):
    register_jitable(no_cpython_wrapper=True, no_cfunc_wrapper=True)(_helper)


@intrinsic
def _fma_llvm(typingctx, a, b, c):
    sig = a(a, b, c)

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.return_type)
        fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty] * 3))
        return builder.call(fn, args)
    return sig, codegen


def fused_on_this_cpu():
    """Whether compiled ``fma`` is one fused instruction here: whether the
    CPU numba compiles for (``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES``, or
    the host's) has FMA instructions. Without them ``llvm.fma`` becomes a
    libm call per element, which stops the loops vectorizing (layers
    2.5-2.8x slower under ``NUMBA_CPU_NAME=generic``), so there the
    compiled ``fma`` is a multiply and an add:
    within the same ulp bounds, but not the uncompiled Python's bits. A
    CPU named without its features counts as having none."""
    from .cpu._native import host_cpu

    return "+fma" in host_cpu()[1].split(",")


@overload(fma, target="cpu")
def _fma_cpu(a, b, c):
    if isinstance(a, types.Float) and a == b == c:
        if fused_on_this_cpu():
            return lambda a, b, c: _fma_llvm(a, b, c)
        return lambda a, b, c: a * b + c
    return None


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
                       (tanh, _tanh64, _tanh32), (log1p, _log1p64, _log1p32),
                       (log1p_unit, _log1p_unit64, _log1p_unit32)):
    overload(_f, target="cpu")(_by_dtype(_f64, _f32))


@overload(erf_gauss, target="cpu")
def _erf_gauss_cpu(x, g):
    return _by_dtype(_erf64, _erf32)(x)

# erf: the two calls of its Python (exp, then erf_gauss), each inlined by LLVM
register_jitable(no_cpython_wrapper=True, no_cfunc_wrapper=True)(erf)
