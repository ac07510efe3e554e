import Glibc

/// Elementary functions the estimator needs beyond libm: log(1 + x) − x without cancellation,
/// a thread-safe logΓ, and a lane-parallel sine and cosine for Box–Muller (libm has no vector
/// form, and its scalar sin and cos would dominate the cost of drawing 10^8 normals).
enum SpecialFunctions {
    /// log Γ(x) for x > 0, via the reentrant `lgamma_r` (plain `lgamma` writes a global).
    static func logGamma(_ x: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// log(1 + x) − x for x ≥ −1 (−∞ at −1), to a few ulps of the result. Near 0 the result is
    /// −x²/2 + …, which subtracting x from log1p(x) would lose to cancellation.
    @inline(__always)
    static func log1pMinusX(_ x: Double) -> Double {
        guard abs(x) < 0.25 else { return log1p(x) - x }
        // log(1 + x) = 2·atanh(y) with y = x/(2 + x), and 2y − x = −x²/(2 + x), so
        // log(1 + x) − x = −x²/(2 + x) + 2y³·Σ y^(2k)/(2k + 3); here |y| < 1/7, y² < 0.021, and
        // eleven terms leave a relative remainder below 10^-18.
        let y = x / (2 + x)
        let y2 = y * y
        var series = 1.0 / 23
        series = series * y2 + 1.0 / 21
        series = series * y2 + 1.0 / 19
        series = series * y2 + 1.0 / 17
        series = series * y2 + 1.0 / 15
        series = series * y2 + 1.0 / 13
        series = series * y2 + 1.0 / 11
        series = series * y2 + 1.0 / 9
        series = series * y2 + 1.0 / 7
        series = series * y2 + 1.0 / 5
        series = series * y2 + 1.0 / 3
        return -x * x / (2 + x) + 2 * y * y2 * series
    }

    /// sin and cos of four angles with |φ| ≤ π/4, to about 1 ulp: Taylor series through φ^17
    /// and φ^18, whose remainders are below 10^-19 there.
    @inline(__always)
    static func sinCos(_ phi: SIMD4<Double>) -> (sin: SIMD4<Double>, cos: SIMD4<Double>) {
        let p2 = phi * phi
        var s = SIMD4<Double>(repeating: 2.811_457_254_345_520_6e-15)  // 1/17!
        s = s * p2 - 7.647_163_731_819_816e-13    // 1/15!
        s = s * p2 + 1.605_904_383_682_161_3e-10  // 1/13!
        s = s * p2 - 2.505_210_838_544_172e-08    // 1/11!
        s = s * p2 + 2.755_731_922_398_589_3e-06  // 1/9!
        s = s * p2 - 1.984_126_984_126_984e-04    // 1/7!
        s = s * p2 + 8.333_333_333_333_333e-03    // 1/5!
        s = s * p2 - 1.666_666_666_666_666_6e-01  // 1/3!
        s = s * p2 * phi + phi
        var c = SIMD4<Double>(repeating: -1.561_920_696_858_622_5e-16)  // 1/18!
        c = c * p2 + 4.779_477_332_387_385e-14    // 1/16!
        c = c * p2 - 1.147_074_559_772_972_5e-11  // 1/14!
        c = c * p2 + 2.087_675_698_786_81e-09     // 1/12!
        c = c * p2 - 2.755_731_922_398_589e-07    // 1/10!
        c = c * p2 + 2.480_158_730_158_73e-05     // 1/8!
        c = c * p2 - 1.388_888_888_888_889e-03    // 1/6!
        c = c * p2 + 4.166_666_666_666_666_4e-02  // 1/4!
        c = c * p2 - 0.5
        c = c * p2 + 1
        return (s, c)
    }
}
