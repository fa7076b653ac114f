"""kernels/elementary.py's exp, expm1, tanh, log1p and erf against NumPy
(erf: against ``math.erf``): within a few
ulp over each function's whole range (dense grids, and the edges where
results overflow, underflow into the subnormals, or round to +-1), NumPy's
NaN, inf and signed-zero results, compiled and run as Python to the same
bits, and compiled into loops that vectorize."""

import json
import math
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from numba import njit

from fastnn.kernels import elementary as E

DTYPES = [np.float64, np.float32]
#: Compiled fma is one instruction only on a CPU with FMA instructions;
#: elsewhere a multiply and an add, not the Python's bits.
fused_only = pytest.mark.skipif(not E.fused_on_this_cpu(),
                                reason="no FMA instructions: compiled fma is a multiply and an add")


def _math_erf(x):
    """math.erf (libm's) of each entry, rounded to x's dtype."""
    return np.frompyfunc(math.erf, 1, 1)(x.astype(np.float64)).astype(x.dtype)


FUNCTIONS = {"exp": np.exp, "expm1": np.expm1, "tanh": np.tanh, "log1p": np.log1p,
             "erf": _math_erf}
#: The most ulp each function may be from NumPy (erf: from math.erf).
MAX_ULP = {"exp": 2, "expm1": 2, "tanh": 3, "log1p": 2, "erf": 3}


@njit(error_model="numpy")
def _apply(code, x, out):
    for i in range(x.shape[0]):
        if code == 0:
            out[i] = E.exp(x[i])
        elif code == 1:
            out[i] = E.expm1(x[i])
        elif code == 2:
            out[i] = E.tanh(x[i])
        elif code == 3:
            out[i] = E.log1p(x[i])
        else:
            out[i] = E.erf(x[i])


def _compiled(name, x):
    out = np.empty_like(x)
    _apply(list(FUNCTIONS).index(name), x, out)
    return out


def _ordered(a):
    """The floats of ``a`` as integers in the order of their values (ulp
    apart where they are one ulp apart)."""
    itype = np.int64 if a.dtype == np.float64 else np.int32
    bits = a.view(itype).astype(np.int64)
    return np.where(bits < 0, np.iinfo(itype).min - bits, bits)


def _points(dtype):
    finfo = np.finfo(dtype)
    big = 750.0 if dtype == np.float64 else 110.0
    rng = np.random.default_rng(7)
    grids = [np.linspace(-big, big, 400_001), np.linspace(-25, 25, 400_001),
             np.linspace(-1, 1, 200_001), rng.standard_normal(100_000) * 1e-6,
             np.geomspace(finfo.smallest_subnormal, 1.0, 20_000)]
    with np.errstate(over="ignore"):
        edges = [0.0, -0.0, np.inf, -np.inf, np.nan, finfo.tiny, -finfo.tiny,
                 finfo.smallest_subnormal, -finfo.smallest_subnormal, finfo.max, -finfo.max]
    points = np.concatenate([*grids, -grids[-1], edges]).astype(dtype)
    # the edges of exp's range: the last finite result, the first
    # subnormal ones, the last non-zero one
    lo, hi = (-745.2, 709.8) if dtype == np.float64 else (-104.0, 88.73)
    around = [np.nextafter(np.array(v, dtype), np.array(t, dtype)) for v in (lo, hi)
              for t in (-np.inf, np.inf)]
    extra = np.concatenate([np.linspace(lo, lo + 40, 50_001), np.linspace(hi - 1, hi, 10_001)])
    return np.concatenate([points, np.array(around, dtype=dtype), extra.astype(dtype)])


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_within_a_few_ulp_of_numpy_everywhere(name, dtype):
    x = _points(dtype)
    with np.errstate(all="ignore"):
        expected = FUNCTIONS[name](x)
    got = _compiled(name, x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    finite = ~np.isnan(expected)
    ulp = np.abs(_ordered(got[finite]) - _ordered(expected[finite]))
    worst = int(np.argmax(ulp))
    assert ulp.max() <= MAX_ULP[name], (x[finite][worst], got[finite][worst],
                                        expected[finite][worst])
    # infinities, zeros and their signs as NumPy has them
    special = finite & ~np.isfinite(expected) | (expected == 0)
    np.testing.assert_array_equal(np.signbit(got[special]), np.signbit(expected[special]))
    np.testing.assert_array_equal(got[special], expected[special])


@fused_only
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_python_and_compiled_give_the_same_bits(name, dtype):
    """Uncompiled (NUMBA_DISABLE_JIT=1, the CUDA simulator) the functions
    run as the Python they are, to the compiled bits."""
    x = _points(dtype)[::613]
    with np.errstate(all="ignore"):
        python = np.array([getattr(E, name)(v) for v in x], dtype=dtype)
    np.testing.assert_array_equal(python.view(np.uint8), _compiled(name, x).view(np.uint8))


def test_the_loops_vectorize():
    """The point of the functions: compiled into a loop, LLVM vectorizes
    them (AVX2 or AVX-512 registers in the loop's code) where libm's
    would be one call per element."""
    x = np.linspace(-3, 3, 1000)
    _compiled("tanh", x)
    signature = _apply.signatures[0]
    asm = _apply.inspect_asm(signature)
    assert "ymm" in asm or "zmm" in asm
    llvm = _apply.inspect_llvm(signature)
    for libm in ("@tanh(", "@expm1(", "@exp(", "@log1p("):
        assert libm not in llvm


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_erf_around_its_pieces(dtype):
    """erf's two pieces meet at 1.5 and it is 1 to the bit from 5.92
    (3.92 in float32): dense grids around both, against math.erf."""
    x = np.concatenate([np.linspace(1.4, 1.6, 200_001), np.linspace(3.8, 6.1, 200_001)])
    x = np.concatenate([x, -x]).astype(dtype)
    ulp = np.abs(_ordered(_compiled("erf", x)) - _ordered(_math_erf(x)))
    assert ulp.max() <= MAX_ULP["erf"]


def test_the_gelu_layer_vectorizes_without_libm():
    """gelu's layer (erf and exp of elementary's, inlined one by one) is
    vector code with no libm call: erf as one function is too long for
    LLVM to inline, and its loop stayed scalar that way."""
    from fastnn.kernels import codes
    from fastnn.kernels.cpu.compiled.activations import layer_component

    for dtype in DTYPES:
        library = layer_component(codes.GELU, dtype)._library
        assert "zmm" in library.get_asm_str() or "ymm" in library.get_asm_str()
        llvm = library.get_llvm_str()
        for libm in ("@erf(", "@erff(", "@exp(", "@expf("):
            assert libm not in llvm


@njit(error_model="numpy")
def _poly_all(coefs, z, out):
    for i in range(z.shape[0]):
        out[i] = E._poly(coefs, z[i])


@pytest.mark.parametrize("n", range(1, 19))
def test_poly_sums_each_term_once(n):
    """``_poly`` (four interleaved Horner chains from 8 terms on) against
    the polynomial in fractions, for every length the chains can leave
    uneven: coefficients that shrink as exp's and log's do, z in [-1, 1].
    Compiled and as Python, to the same bits where fma is fused."""
    rng = np.random.default_rng(n)
    coefs = tuple(float(c) for c in rng.uniform(0.5, 1.0, n) / 2.0 ** np.arange(n))
    z = np.concatenate([rng.uniform(-1, 1, 300), [-1.0, -0.5, 0.0, 0.5, 1.0]])
    exact = [sum(Fraction(c) * Fraction(v) ** k for k, c in enumerate(coefs)) for v in z]
    python = np.array([E._poly(coefs, v) for v in z])
    # at z = +-1 a term dropped or counted twice is off by at least the
    # smallest coefficient: millions of ulp, where rounding leaves a few
    ulps = [abs(Fraction(p) - e) / Fraction(np.spacing(float(e))) for p, e in zip(python, exact)]
    assert max(ulps) <= 4, max(ulps)
    compiled = np.empty_like(z)
    _poly_all(coefs, z, compiled)
    if E.fused_on_this_cpu():
        np.testing.assert_array_equal(compiled.view(np.uint8), python.view(np.uint8))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_log1p_unit_on_its_range(dtype):
    """log1p_unit (softplus's log1p(e**-|x|), for x in [0, 1]) against
    NumPy's log1p: dense grids, the subnormals, both ends and NaN, and the
    same bits run as Python."""
    finfo = np.finfo(dtype)
    x = np.concatenate([np.linspace(0, 1, 1_000_001),
                        np.geomspace(finfo.smallest_subnormal, 1, 20_000),
                        [0.0, finfo.smallest_subnormal, finfo.tiny, 0.41421356237309503, 1.0]])
    x = np.concatenate([x.astype(dtype), np.nextafter(np.array(np.sqrt(2) - 1, dtype),
                                                      np.array([0, 1], dtype))])

    @njit(error_model="numpy")
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = E.log1p_unit(x[i])

    got = np.empty_like(x)
    apply(x, got)
    assert np.abs(_ordered(got) - _ordered(np.log1p(x))).max() <= MAX_ULP["log1p"]
    assert got[0] == 0.0 and not np.signbit(got[0])
    nan = np.empty(1, dtype)
    apply(np.array([np.nan], dtype), nan)
    assert np.isnan(nan[0])
    if E.fused_on_this_cpu():
        python = np.array([E.log1p_unit(v) for v in x[::997]], dtype=dtype)
        np.testing.assert_array_equal(python.view(np.uint8), got[::997].copy().view(np.uint8))


def _fma_oracle(a, b, c, dtype):
    """a * b + c exactly (Fraction), rounded once to ``dtype``: the nearest
    of the floats around it, ties to even."""
    if not all(np.isfinite(v) for v in (a, b, c)) or a == 0 or b == 0:
        with np.errstate(all="ignore"):
            return dtype(np.float64(a) * np.float64(b) + np.float64(c))
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    if exact == 0:
        return dtype(0.0)
    finfo = np.finfo(dtype)
    top = Fraction(float(finfo.max))
    half_ulp = (top - Fraction(float(np.nextafter(finfo.max, dtype(0))))) / 2
    if abs(exact) >= top + half_ulp:  # overflow (max's last bit is odd: a tie goes up)
        return dtype(np.inf if exact > 0 else -np.inf)
    near = dtype(float(exact))
    best = None
    with np.errstate(over="ignore"):
        around = (np.nextafter(near, dtype(-np.inf)), near, np.nextafter(near, dtype(np.inf)))
    for cand in around:
        if not np.isfinite(cand):
            continue
        key = (abs(Fraction(float(cand)) - exact), int(cand.view(_INT[dtype])) & 1)
        if best is None or key < best[0]:
            best = (key, cand)
    return best[1]


_INT = {np.float64: np.int64, np.float32: np.int32}


@njit(error_model="numpy")
def _fma_all(a, b, c, out):
    for i in range(a.shape[0]):
        out[i] = E.fma(a[i], b[i], c[i])


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_fma_rounds_once(dtype):
    """fma, compiled (one instruction) and as Python (exact, then rounded
    once), against a * b + c in fractions rounded once: random operands of
    every scale, cancellations, overflow, subnormals, NaN and inf, and for
    float32 the midpoints where rounding to float64 first would round
    twice the wrong way."""
    rng = np.random.default_rng(3)
    n = 4000
    scale = 2.0 ** rng.integers(-60, 60, (3, n))
    a, b, c = (rng.standard_normal(n) * scale[i] for i in range(3))
    c[: n // 4] = -(a[: n // 4] * b[: n // 4])  # near-cancellation
    finfo = np.finfo(dtype)
    specials = [(1.0, 1.0, -1.0), (0.0, -1.0, -0.0), (-0.0, 1.0, -0.0), (np.inf, 0.0, 1.0),
                (np.inf, 1.0, -np.inf), (np.nan, 1.0, 1.0), (finfo.max, 2.0, -finfo.max),
                (finfo.max, 2.0, 0.0), (finfo.tiny, 0.5, 0.0), (finfo.tiny, -0.25, finfo.tiny),
                (3.0, 1.0 / 3.0, -1.0)]
    if dtype == np.float32:
        # exact 1 + 2**-23 + 2**-24 - 2**-70: float64 rounds it to the
        # midpoint, which float32's ties-to-even would take up to 1 + 2**-22
        specials += [(1 + 2.0 ** -23, 2.0 ** -24 * (1 - 2.0 ** -23), 1 + 2.0 ** -23),
                     (1 + 2.0 ** -23, -(2.0 ** -24) * (1 - 2.0 ** -23), -(1 + 2.0 ** -23))]
    s = np.array(specials).T
    with np.errstate(over="ignore"):
        a, b, c = (np.concatenate([v, s[i]]).astype(dtype) for i, v in enumerate((a, b, c)))
    compiled = np.empty_like(a)
    _fma_all(a, b, c, compiled)
    python = np.array([E.fma(*v) for v in zip(a, b, c)], dtype=dtype)
    oracle = np.array([_fma_oracle(*v, dtype) for v in zip(a, b, c)], dtype=dtype)
    np.testing.assert_array_equal(python.view(np.uint8), oracle.view(np.uint8))
    if E.fused_on_this_cpu():
        np.testing.assert_array_equal(compiled.view(np.uint8), oracle.view(np.uint8))
    if dtype == np.float32:
        assert oracle[-2] == dtype(1 + 2.0 ** -23)


_UNFUSED = """
import json, numpy as np
from numba import njit
from fastnn.kernels import elementary as E

@njit(error_model="numpy")
def apply(a, b, c, x, out):
    f = E.fma(a, b, c)
    for i in range(x.shape[0]):
        out[i] = E.tanh(x[i])
    return f

x = np.linspace(-20, 20, 200_001)
out = np.empty_like(x)
a, b = 1.0 + 2.0 ** -30, 1.0 - 2.0 ** -30
f = apply(a, b, -1.0, x, out)
ordered = lambda v: np.where(v.view(np.int64) < 0, -2 ** 63 - v.view(np.int64), v.view(np.int64))
llvm = apply.inspect_llvm(apply.signatures[0])
print(json.dumps({"fused": E.fused_on_this_cpu(), "fma": f, "python": float(E.fma(a, b, -1.0)),
                  "ulp": int(np.abs(ordered(out) - ordered(np.tanh(x))).max()),
                  "libm_fma": "@fma(" in llvm}))
"""


def test_a_cpu_without_fma_instructions_gets_a_multiply_and_an_add(tmp_path):
    """Compiled for a CPU without FMA instructions (NUMBA_CPU_NAME=generic),
    fma is a multiply and an add (a fused one would be a libm call per
    element): it rounds twice where the fused one rounds once, and the
    functions stay within their ulp bounds."""
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path))
    env.pop("NUMBA_CPU_FEATURES", None)
    done = subprocess.run([sys.executable, "-c", _UNFUSED], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert not got["fused"] and not got["libm_fma"]
    assert got["fma"] == 0.0  # (1 + 2**-30)(1 - 2**-30) rounds to 1 before the add
    assert got["python"] == -(2.0 ** -60)  # the exact value, rounded once
    assert got["ulp"] <= MAX_ULP["tanh"]
