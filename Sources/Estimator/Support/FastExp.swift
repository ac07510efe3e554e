/// Vectorized float32 exp (Cephes `expf` polynomial, ≤ 2 ulp on [−87, 88]); the KL's
/// log-sum-exp over every output row is the hottest loop of an evaluation.
enum FastExp {
    /// out[i] = exp(x[i]). Inputs above 88 saturate at e^88 and inputs below −87.3 give ≈ e^−87.3 rather than 0 (callers only
    /// sum these against a term ≥ 1); NaN is not expected (callers check it first).
    @inlinable
    static func exp(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: exp8(v), as: SIMD8<Float>.self)
            i += 8
        }
        if i < count {
            var tail = SIMD8<Float>(repeating: 0)
            for j in 0..<(count - i) { tail[j] = x[i + j] }
            let e = exp8(tail)
            for j in 0..<(count - i) { out[i + j] = e[j] }
        }
    }

    @inlinable @inline(__always)
    static func exp8(_ input: SIMD8<Float>) -> SIMD8<Float> {
        let low = SIMD8<Float>(repeating: -87.3), high = SIMD8<Float>(repeating: 88)
        let x = input.replacing(with: low, where: input .< low).replacing(with: high, where: input .> high)
        // Round x·log2(e) to an integer by adding 1.5·2^23: the sum's low mantissa bits are then
        // that integer (a generic SIMD float→int conversion is not vectorized).
        let shifter = SIMD8<Float>(repeating: 12_582_912)
        let shifted = x * 1.44269504088896341 + shifter
        let n = shifted - shifter
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * r * r + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(shifter, to: SIMD8<Int32>.self)
        let exponent = (integer &+ 127) &<< 23
        return y * unsafeBitCast(exponent, to: SIMD8<Float>.self)
    }
}
