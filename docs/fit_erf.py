"""Fit the polynomials of ``kernels/elementary.py``'s erf (needs mpmath,
which fastnn itself does not: ``pip install mpmath``).

erf(t) for t >= 0 is computed in two pieces, both evaluated for every
element and one kept (a select, so the loop vectorizes):

- below ``T1``: t + t P(t**2), P a polynomial fitted to erf(t) / t - 1
  with the weights of erf(t) / t's relative error (so the rounding of
  its constant term, 2 / sqrt(pi) - 1, costs erf little);
- from ``T1``: 1 - exp(-t**2) Q(t - T1), Q fitted to erfcx(t) = exp(t**2)
  erfc(t) with the weight exp(-t**2): Q's error matters only as much as
  it moves erf, which is 1 - exp(-t**2) erfcx(t).

Each fit is a weighted least-squares one at Chebyshev nodes (near the
minimax fit), in 40 digits, its coefficients rounded to the dtype one at
a time, each time the higher ones refitted to what the rounding left.
Run it (``python docs/fit_erf.py``) to print the coefficients, with the
worst error of each piece over a dense grid, in units of the last place
of erf; ``python docs/fit_erf.py --one-piece float64 24,28`` measures
the single polynomial a gelu could use instead (``one_piece``).
"""

import mpmath as mp
import numpy as np

mp.mp.dps = 40

T1 = mp.mpf("1.5")
#: Where erf rounds to 1 (erfc below half an ulp of 1), per dtype.
END = {"float64": mp.mpf("5.95"), "float32": mp.mpf("3.95")}
#: The degrees of (P, Q), per dtype.
DEGREE = {"float64": (14, 17), "float32": (7, 7)}
ULP = {"float64": mp.mpf(2) ** -53, "float32": mp.mpf(2) ** -24}  # of [0.5, 1)


def _nodes(a, b, m):
    """m Chebyshev nodes on [a, b]."""
    return [a + (b - a) * (mp.cos(mp.pi * (k + mp.mpf(1) / 2) / m) + 1) / 2 for k in range(m)]


def _round(v, dtype):
    """v rounded to the dtype (as the printed coefficient reads back)."""
    return mp.mpf(float(v)) if dtype == "float64" else mp.mpf(float(np.float32(float(v))))


def _fit(ds, ys, ws, n, dtype):
    """Coefficients c of sum c_k d**k minimizing sum (w (fit - y))**2,
    each rounded to the dtype in turn, the higher ones refitted to what
    that rounding left (the rounding errors of the first, largest terms
    are what a plain rounding of the fit would leave)."""
    fixed = []
    for j in range(n + 1):
        a = mp.matrix(len(ds), n + 1 - j)
        b = mp.matrix(len(ds), 1)
        for i, (d, y, w) in enumerate(zip(ds, ys, ws)):
            known = sum(c * d ** k for k, c in enumerate(fixed))
            for k in range(j, n + 1):
                a[i, k - j] = w * d ** k
            b[i] = w * (y - known)
        c, _ = mp.qr_solve(a, b)
        fixed.append(_round(c[0], dtype))
    return fixed


def fit(dtype):
    (n, m), end = DEGREE[dtype], END[dtype]
    # the head: erf(t) / t - 1 as a polynomial in s = t**2 on [0, T1**2]
    ss = _nodes(mp.mpf(0), T1 * T1, 300)
    ys = [mp.erf(mp.sqrt(s)) / mp.sqrt(s) for s in ss]
    head = _fit(ss, [y - 1 for y in ys], [1 / y for y in ys], n, dtype)
    # the tail: erfcx(t) as a polynomial in d = t - T1 on [T1, end]
    ts = _nodes(T1, end, 300)
    ys = [mp.exp(t * t) * mp.erfc(t) for t in ts]
    ws = [mp.exp(-t * t) / ULP[dtype] for t in ts]
    floor = max(ws) * mp.mpf(10) ** -12  # far out erf is all but 1: any weight will do
    tail = _fit([t - T1 for t in ts], ys, [max(w, floor) for w in ws], m, dtype)
    return head, tail


def _horner(c, z):
    p = c[-1]
    for v in reversed(c[:-1]):
        p = p * z + v
    return p


def worst(dtype, head, tail):
    """The fits' worst error in ulp of erf (exact arithmetic, coefficients
    rounded to the dtype as printed)."""
    out = []
    for lo, hi, f in ((mp.mpf(0), T1, lambda t: t + t * _horner(head, t * t)),
                      (T1, END[dtype], lambda t: 1 - mp.exp(-t * t) * _horner(tail, t - T1))):
        e = 0
        for k in range(1, 1001):
            t = lo + (hi - lo) * k / 1000
            exact = mp.erf(t)
            ulp = mp.mpf(2) ** (mp.floor(mp.log(exact, 2)) + 1) * ULP[dtype]
            e = max(e, abs(f(t) - exact) / ulp)
        out.append(float(e))
    return out


def one_piece(dtype, n, nodes=200):
    """gelu's Phi(x) from a single polynomial instead: Phi = 1 - e^(-t^2)
    R(t) / 2 for x >= 0 and e^(-t^2) R(t) / 2 below (t = |x| / sqrt(2)),
    R of degree ``n`` fitted to erfcx on [0, END] with the weight
    e^(-t^2), its coefficients rounded once. Returns the worst error of
    e^(-t^2) R / 2 in units of the last place of [0.5, 1): what a cheaper
    gelu would have to keep within a few units."""
    end = END[dtype]
    ts = _nodes(mp.mpf(0), end, nodes)
    ws = [mp.exp(-t * t) / ULP[dtype] for t in ts]
    floor = max(ws) * mp.mpf(10) ** -12
    a = mp.matrix(len(ts), n + 1)
    b = mp.matrix(len(ts), 1)
    for i, (t, w) in enumerate(zip(ts, ws)):
        w = max(w, floor)
        for k in range(n + 1):
            a[i, k] = w * t ** k
        b[i] = w * mp.exp(t * t) * mp.erfc(t)
    c = [_round(v, dtype) for v in mp.qr_solve(a, b)[0]]
    return float(max(abs(mp.exp(-t * t) * _horner(c, t) - mp.erfc(t)) / 2 / ULP[dtype]
                     for t in (end * k / 800 for k in range(801))))


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--one-piece"]:  # e.g. --one-piece float64 20,24,28
        for n in (int(v) for v in sys.argv[3].split(",")):
            print(sys.argv[2], "degree", n, "worst ulp:", one_piece(sys.argv[2], n))
        sys.exit()
    for dtype in ("float64", "float32"):
        head, tail = fit(dtype)
        show = repr if dtype == "float64" else lambda v: str(np.float32(v))  # noqa: E731
        print(dtype, "worst ulp (head, tail):", worst(dtype, head, tail))
        for name, c in (("head", head), ("tail", tail)):
            print(name, "(" + ", ".join(show(float(v)) for v in c) + ")")
