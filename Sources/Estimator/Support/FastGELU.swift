/// Vectorized float32 exact GELU with its slope, x·Φ(x) and Φ(x) + x·φ(x): erf by Eigen's
/// rational approximation on [−4, 4] (a few ulp; |x| > 4 rounds erf to ±1 in float32) and the
/// density's exp by `FastExp`. The LLC's sampler evaluates it at every feed-forward unit of
/// every step, where libm's scalar `erff` and `expf` dominated the forward pass.
enum FastGELU {
    static func valueAndSlope(_ x: UnsafePointer<Float>, value: UnsafeMutablePointer<Float>,
                              slope: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let (y, s) = gelu8(v)
            UnsafeMutableRawPointer(value + i).storeBytes(of: y, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(slope + i).storeBytes(of: s, as: SIMD8<Float>.self)
            i += 8
        }
        if i < count {
            var tail = SIMD8<Float>(repeating: 0)
            for j in 0..<(count - i) { tail[j] = x[i + j] }
            let (y, s) = gelu8(tail)
            for j in 0..<(count - i) {
                value[i + j] = y[j]
                slope[i + j] = s[j]
            }
        }
    }

    /// x·Φ(x) in place (the vision models' feed-forward units).
    static func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: v * (0.5 + 0.5 * erf8(v * 0.70710678118654752)), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            var tail = SIMD8<Float>(repeating: 0)
            for j in 0..<(count - i) { tail[j] = x[i + j] }
            let y = tail * (0.5 + 0.5 * erf8(tail * 0.70710678118654752))
            for j in 0..<(count - i) { x[i + j] = y[j] }
            i = count
        }
    }

    @inline(__always)
    static func gelu8(_ x: SIMD8<Float>) -> (value: SIMD8<Float>, slope: SIMD8<Float>) {
        let cdf = 0.5 * (1 + erf8(x * 0.70710678118654752))
        let density = FastExp.exp8(-0.5 * x * x) * 0.39894228040143268
        return (x * cdf, cdf + x * density)
    }

    @inline(__always)
    static func erf8(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let low = SIMD8<Float>(repeating: -4), high = SIMD8<Float>(repeating: 4)
        let x = input.replacing(with: low, where: input .< low).replacing(with: high, where: input .> high)
        let x2 = x * x
        var p = x2 * -2.72614225801306e-10 + 2.77068142495902e-08
        p = x2 * p + -2.10102402082508e-06
        p = x2 * p + -5.69250639462346e-05
        p = x2 * p + -7.34990630326855e-04
        p = x2 * p + -2.95459980854025e-03
        p = x2 * p + -1.60960333262415e-02
        p = x * p
        var q = x2 * -1.45660718464996e-05 + -2.13374055278905e-04
        q = x2 * q + -1.68282697438203e-03
        q = x2 * q + -7.37332916720468e-03
        q = x2 * q + -1.42647390514189e-02
        return p / q
    }
}
