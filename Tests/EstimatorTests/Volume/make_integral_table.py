#!/usr/bin/env python3
"""Writes RadialIntegralTable.swift: reference values of the radial Gaussian integral

    log ∫_0^r (2πσ²)^(−D/2) · exp(−(t² + 2bt + c)/(2σ²)) · t^(D−1) dt

computed with mpmath at 50 significant digits, and of log P(D/2, r²/(2σ²)) (the central χ²
distribution function) for RadialIntegralTests. The tests never run Python; this script
documents where the numbers come from. Run from anywhere (about ten minutes):

    python3 Tests/EstimatorTests/Volume/make_integral_table.py

Every input is a float (an exact double), converted to mpmath exactly, so the reference is the
integral of exactly the double inputs the Swift code receives.

Method (independent of the Swift code's): the log-integrand F(t) is evaluated directly in
50-digit arithmetic; exp(F(t) − F(a)) with a = min(t*, r) is integrated in the scaled variable
u = (t − a)/w (w: the scale on which F changes by 1), split at u = ±2^k until F has dropped by
300 or t reaches 0 or r, with mpmath's tanh-sinh quadrature on each piece. For b = 0 the result
is cross-checked against the regularized incomplete gamma function, and for r = ∞ (D ≤ 1000)
against the closed form with the parabolic cylinder function; the script stops if any check
disagrees beyond 10^-25 relative.
"""

import os
import sys

from mpmath import mp, mpf, exp, log, log1p, sqrt, pi, quad, gammainc, loggamma, pcfd, inf
from mpmath.libmp import NoConvergence

mp.dps = 50

DIMENSIONS = [2, 3, 10, 100, 1000, 4810, 10**5, 10**6, 10**9]
SIGMAS = [1e-3, 0.3, 10.0]
RANDOM_NETWORK_SIGMA = 0.07  # c = D·0.07²: an anchor at a random network's distance from the centre
DROP = 300  # follow the integrand down to e^-300 of its maximum


def peak(D, b, sigma):
    """t* = (−b + √(b² + 4(D−1)σ²))/2, the maximum of the integrand over t > 0."""
    n = mpf(D - 1)
    root = sqrt(b * b + 4 * n * sigma * sigma)
    return (root - b) / 2 if b <= 0 else 2 * n * sigma * sigma / (b + root)


def reference(D, r, b, c, sigma):
    D_, r_, b_, c_, s_ = mpf(D), mpf(r), mpf(b), mpf(c), mpf(sigma)
    n = D_ - 1
    s2 = s_ * s_

    # With D = 1 (n = 0) the t^(D−1) factor is 1 and its terms vanish (the peak may be t = 0).
    def F(t):
        return -(D_ / 2) * log(2 * pi * s2) - (t * t + 2 * b_ * t + c_) / (2 * s2) + (n * log(t) if n else 0)

    def dF(t):
        return -(t + b_) / s2 + (n / t if n else 0)

    def d2F(t):
        return -1 / s2 - (n / (t * t) if n else 0)

    a = min(peak(D, b_, s_), r_)
    Fa = F(a)
    # Integrate in u = (t − a)/w, where w is the scale on which F changes by O(1): tanh-sinh
    # nodes placed directly in t lose accuracy when the window is narrow compared with a.
    w = 1 / (abs(dF(a)) + sqrt(-d2F(a)))
    lower, upper = -a / w, (r_ - a) / w
    points = [mpf(0)]
    step = mpf(1)
    while True:  # left, down to t = 0
        if -step <= lower:
            points.insert(0, lower)
            break
        points.insert(0, -step)
        if Fa - F(a - w * step) > DROP:
            break
        step *= 2
    step = mpf(1)
    while upper > 0:  # right, up to t = r
        if step >= upper:
            points.append(upper)
            break
        points.append(step)
        if Fa - F(a + w * step) > DROP:
            break
        step *= 2
    def integrand(u):
        t = a + w * u
        if t > 0:
            return exp(F(t) - Fa)
        return exp(F(mpf(0)) - Fa) if D == 1 else mpf(0)  # t^(D−1) → 0 at t = 0 for D ≥ 2

    value, error = quad(integrand, points, error=True, maxdegree=12)
    if error > mpf(10) ** -30 * value:
        sys.exit(f"quadrature error {error} too large for D={D} r={r} b={b} c={c} sigma={sigma}")
    value *= w
    return Fa + log(value)


def log_sphere_area(D):
    return log(2) + (mpf(D) / 2) * log(pi) - loggamma(mpf(D) / 2)


def cross_check(D, r, b, c, sigma, value):
    """Closed forms where they exist; returns the absolute disagreement (or None)."""
    D_, r_, b_, c_, s_ = mpf(D), mpf(r), mpf(b), mpf(c), mpf(sigma)
    if b == 0:
        # ∫ over the ball of radius r of N(0, σ²I), per unit sphere area, times e^(−c/(2σ²)).
        try:
            log_P = 0 if r == float("inf") else log_central_chi_square_cdf(D, r, sigma)
        except NoConvergence:  # mpmath's series for very large D near the mode
            return None
        return abs(log_P - log_sphere_area(D) - c_ / (2 * s_ * s_) - value)
    if r == float("inf") and D <= 1000:
        # ∫_0^∞ x^n e^(−x²/2 − βx) dx = Γ(n + 1)·e^(β²/4)·D_(−n−1)(β)  (parabolic cylinder D_ν)
        n = D_ - 1
        beta = b_ / s_
        inner = loggamma(n + 1) + beta * beta / 4 + log(pcfd(-n - 1, beta))
        closed = -(D_ / 2) * log(2 * pi) - (c_ - b_ * b_) / (2 * s_ * s_) - beta * beta / 2 + inner
        return abs(closed - value)
    return None


def cases():
    for D in DIMENSIONS:
        for sigma in SIGMAS:
            settings = [(0.0, 0.0)]  # prior centred at the anchor
            for c in (1.0, D * RANDOM_NETWORK_SIGMA**2):
                root = float(sqrt(mpf(c)))
                settings += [(b, c) for b in (0.0, 0.5 * root, -0.5 * root, root, -root)]
            for b, c in settings:
                t = float(peak(D, mpf(b), mpf(sigma)))
                # 5e-9·σ and 1e-8·σ straddle the Swift code's switch to its small-radius formula.
                for r in (1e-300, 5e-9 * sigma, 1e-8 * sigma, 1e-6 * t, 0.5 * t, t, 2 * t, 100 * t,
                          float("inf")):
                    yield D, r, b, c, sigma


def central_cases():
    """(D, r, σ) with x = r²/(2σ²) at fractions of D/2 from far below to far above the mode."""
    sigma = 0.3
    for D in (10, 1000, 10**5):
        for fraction in (1e-6, 0.01, 0.5, 0.9, 1.0, 1.1, 2.0):
            yield D, float(sigma * sqrt(mpf(D) * fraction)), sigma


def log_central_chi_square_cdf(D, r, sigma):
    """log P(D/2, r²/(2σ²)), the regularized lower incomplete gamma function."""
    a = mpf(D) / 2
    x = mpf(r) ** 2 / (2 * mpf(sigma) ** 2)
    if x > a:  # 1 − Q: the upper function's continued fraction converges where the series does not
        return log1p(-gammainc(a, x, inf, regularized=True))
    return log(gammainc(a, 0, x, regularized=True))


def swift_double(x):
    if x == float("inf"):
        return ".infinity"
    if x == float("-inf"):
        return "-.infinity"
    return repr(x)


def main():
    rows = []
    worst = 0
    checked = 0
    for D, r, b, c, sigma in cases():
        value = reference(D, r, b, c, sigma)
        check = cross_check(D, r, b, c, sigma, value)
        if check is not None:
            scale = max(1, abs(value))
            if check > mpf(10) ** -25 * scale:
                sys.exit(f"closed form disagrees by {check} for D={D} r={r} b={b} c={c} sigma={sigma}")
            worst = max(worst, check / scale)
            checked += 1
        rows.append(f"    {D}, {swift_double(r)}, {swift_double(b)}, {swift_double(c)}, "
                    f"{swift_double(sigma)}, {swift_double(float(value))},")
    central = [f"    {D}, {swift_double(r)}, {swift_double(sigma)}, "
               f"{swift_double(float(log_central_chi_square_cdf(D, r, sigma)))},"
               for D, r, sigma in central_cases()]
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "RadialIntegralTable.swift"), "w") as out:
        # Flat [Double] literals: type-checking this many tuples would slow every test build.
        out.write("// Generated by make_integral_table.py (mpmath, 50 digits); do not edit.\n\n")
        out.write("/// Rows of six: D, r, b, c, σ, then\n")
        out.write("/// log ∫_0^r (2πσ²)^(−D/2) e^(−(t² + 2bt + c)/(2σ²)) t^(D−1) dt rounded to the nearest double.\n")
        out.write("let radialIntegralReference: [Double] = [\n")
        out.write("\n".join(rows))
        out.write("\n]\n\n")
        out.write("/// Rows of four: D, r, σ, then log P(D/2, r²/(2σ²)) (regularized lower incomplete gamma).\n")
        out.write("let centralChiSquareReference: [Double] = [\n")
        out.write("\n".join(central))
        out.write("\n]\n")
    print(f"{len(rows)} rows; {checked} closed-form checks agree to {float(worst):.2e} relative")


if __name__ == "__main__":
    main()
