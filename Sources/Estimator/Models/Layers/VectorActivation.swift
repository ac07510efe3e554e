/// Activations eight lanes at a time. The feed-forward activation runs over every hidden unit of
/// every token in each evaluation, so the scalar libm calls (`erff`, `tanhf`, `expf`) would cost
/// as much as the matrix products. Errors stay within a few float32 ulps of the exact function
/// (abs. error ≤ 2e-7·max(1, |x|)); NaN propagates.
extension Activation {
    func applyVectorized(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu: VectorActivation.map(x, count: count, VectorActivation.relu)
        case .gelu: VectorActivation.map(x, count: count, VectorActivation.gelu)
        case .geluTanh: VectorActivation.map(x, count: count, VectorActivation.geluTanh)
        case .tanh: VectorActivation.map(x, count: count, VectorActivation.tanh)
        case .sigmoid: VectorActivation.map(x, count: count, VectorActivation.sigmoid)
        case .silu: VectorActivation.map(x, count: count, VectorActivation.silu)
        }
    }
}

enum VectorActivation {
    typealias Lanes = SIMD8<Float>

    @inline(__always)
    static func map(_ x: UnsafeMutablePointer<Float>, count: Int, _ f: (Lanes) -> Lanes) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: Lanes.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: f(v), as: Lanes.self)
            i += 8
        }
        if i < count {
            var tail = Lanes(repeating: 0)
            for j in 0..<(count - i) { tail[j] = x[i + j] }
            let y = f(tail)
            for j in 0..<(count - i) { x[i + j] = y[j] }
        }
    }

    @inline(__always)
    static func relu(_ x: Lanes) -> Lanes {
        x.replacing(with: 0, where: x .< 0)  // NaN stays NaN, as in PyTorch
    }

    /// x·Φ(x) = ½x·(1 + erf(x/√2)), written with erfc so that the negative tail keeps its
    /// relative accuracy: 1 + erf(u) = 2 − erfc(u) for u ≥ 0 and erfc(|u|) for u < 0.
    @inline(__always)
    static func gelu(_ x: Lanes) -> Lanes {
        let u = x * 0.70710678118654752
        let c = erfc(abs(u))
        let onePlusErf = c.replacing(with: 2 - c, where: u .>= 0)
        return 0.5 * x * onePlusErf
    }

    /// ½x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (HF `gelu_new`).
    @inline(__always)
    static func geluTanh(_ x: Lanes) -> Lanes {
        let inner = 0.79788456080286536 * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + tanh(inner))
    }

    @inline(__always)
    static func silu(_ x: Lanes) -> Lanes {
        x / (1 + FastExp.exp8(-x))
    }

    @inline(__always)
    static func sigmoid(_ x: Lanes) -> Lanes {
        1 / (1 + FastExp.exp8(-x))
    }

    /// Cephes `tanhf`: an odd polynomial below |x| = 0.625, 1 − 2/(e^{2|x|} + 1) above.
    @inline(__always)
    static func tanh(_ x: Lanes) -> Lanes {
        let z = x * x
        var p = Lanes(repeating: -5.70498872745e-3)
        p = p * z + 2.06390887954e-2
        p = p * z - 5.37397155531e-2
        p = p * z + 1.33314422036e-1
        p = p * z - 3.33332819422e-1
        let small = p * z * x + x
        let a = abs(x)
        let large = 1 - 2 / (FastExp.exp8(2 * a) + 1)
        let signed = large.replacing(with: -large, where: x .< 0)
        return signed.replacing(with: small, where: a .< 0.625)
    }

    /// erfc(z) for z ≥ 0 (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7).
    @inline(__always)
    static func erfc(_ z: Lanes) -> Lanes {
        let t = 1 / (1 + 0.5 * z)
        var p = Lanes(repeating: 0.17087277)
        p = p * t - 0.82215223
        p = p * t + 1.48851587
        p = p * t - 1.13520398
        p = p * t + 0.27886807
        p = p * t - 0.18628806
        p = p * t + 0.09678418
        p = p * t + 0.37409196
        p = p * t + 1.00002368
        p = p * t - 1.26551223
        return t * FastExp.exp8(p - z * z)
    }

    @inline(__always)
    static func abs(_ x: Lanes) -> Lanes {
        x.replacing(with: -x, where: x .< 0)
    }
}
