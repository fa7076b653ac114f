"""Fit the polynomial of ``kernels/elementary.py``'s exp, expm1 and tanh
(needs mpmath, which fastnn itself does not: ``pip install mpmath``).

After the reduction x = k ln2 + r, |r| <= ln2 / 2, e**r - 1 is computed as
r + r**2 q(r). q is fitted here to (e**r - 1 - r) / r**2 with the weights
of expm1's relative error, r**2 / |e**r - 1| (exp's, r**2 / e**r, is
smaller everywhere): weighted least squares at Chebyshev nodes in 40
digits, each coefficient rounded in turn (``fit_erf._fit``). In float64
the fit needs degree 9 (expm1 of degree 11) where the Taylor polynomial
needed 11: two fused multiply-adds fewer in every exp, expm1 and tanh.
(float32 keeps its Taylor polynomial: the fit of one degree fewer, 0.21
ulp here, left exp 3 ulp from NumPy's.)

``python docs/fit_exp.py`` prints the coefficients and the worst error
of r + r**2 q(r) over a dense grid, in units of expm1's last place, in
exact arithmetic.
"""

import mpmath as mp

from fit_erf import ULP, _fit, _horner, _nodes

mp.mp.dps = 40

HALF_LN2 = mp.log(2) / 2
#: q's degree per dtype
DEGREE = {"float64": 9}


def _q(r):
    return (mp.expm1(r) - r) / (r * r)


def fit(dtype):
    rs = _nodes(-HALF_LN2, HALF_LN2, 300)
    return _fit(rs, [_q(r) for r in rs], [r * r / abs(mp.expm1(r)) / ULP[dtype] for r in rs],
                DEGREE[dtype], dtype)


def worst(dtype, q):
    """The worst error of r + r**2 q(r), in ulp of expm1(r) and in ulp of
    exp(r), exact arithmetic, coefficients as printed."""
    e = ee = 0
    for k in range(-1000, 1001):
        if k == 0:
            continue
        r = HALF_LN2 * k / 1000
        got = r + r * r * _horner(q, r)
        exact = mp.expm1(r)
        ulp = mp.mpf(2) ** (mp.floor(mp.log(abs(exact), 2)) + 1) * ULP[dtype]
        e = max(e, abs(got - exact) / ulp)
        ulp_exp = mp.mpf(2) ** (mp.floor(mp.log(1 + exact, 2)) + 1) * ULP[dtype]
        ee = max(ee, abs(got - exact) / ulp_exp)
    return float(e), float(ee)


if __name__ == "__main__":
    for dtype in DEGREE:
        q = fit(dtype)
        print(dtype, "worst ulp (expm1, exp):", worst(dtype, q))
        print("(" + ", ".join(repr(float(v)) for v in q) + ")")
