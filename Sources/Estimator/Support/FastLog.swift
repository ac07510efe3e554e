/// Vectorized float64 natural logarithm for positive, finite, normal inputs, accurate to a few
/// ulp: the per-row log of the KL's log-sum-exp, taken for all rows at once.
enum FastLog {
    /// x[i] = log(x[i]) in place.
    @inlinable
    static func logInPlace(_ x: UnsafeMutablePointer<Double>, count: Int) {
        var i = 0
        while i + 4 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD4<Double>.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: log4(v), as: SIMD4<Double>.self)
            i += 4
        }
        if i < count {
            var tail = SIMD4<Double>(repeating: 1)
            for j in 0..<(count - i) { tail[j] = x[i + j] }
            let l = log4(tail)
            for j in 0..<(count - i) { x[i + j] = l[j] }
        }
    }

    /// log x = e·ln 2 + 2·atanh((m − 1)/(m + 1)) with x = m·2^e, m in [√½, √2).
    @inlinable @inline(__always)
    static func log4(_ x: SIMD4<Double>) -> SIMD4<Double> {
        let bits = unsafeBitCast(x, to: SIMD4<Int64>.self)
        var exponent = SIMD4<Double>((bits &>> 52) &- 1023)
        var m = unsafeBitCast((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000, to: SIMD4<Double>.self)  // [1, 2)
        let large = m .> 1.4142135623730951
        m.replace(with: m * 0.5, where: large)
        exponent.replace(with: exponent + 1, where: large)
        let z = (m - 1) / (m + 1)
        let z2 = z * z
        // atanh(z)/z = Σ z^(2k)/(2k+1); |z| ≤ 0.1716, so 12 terms reach double precision.
        var p = SIMD4<Double>(repeating: 1.0 / 23)
        for k in stride(from: 10, through: 0, by: -1) {
            p = p * z2 + 1.0 / Double(2 * k + 1)
        }
        let ln2High = 0.693147180369123816490, ln2Low = 1.90821492927058770002e-10
        return exponent * ln2High + (2 * z * p + exponent * ln2Low)
    }
}
