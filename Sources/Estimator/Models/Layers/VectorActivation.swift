/// Activations eight lanes at a time. The feed-forward activation runs over every hidden unit of
/// every token in each evaluation, so the scalar libm calls (`erff`, `tanhf`, `expf`) would cost
/// as much as the matrix products. Errors stay within a few float32 ulps of the exact function
/// (abs. error ≤ 4e-7·max(1, |x|)); NaN propagates.
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

    /// x·Φ(x) = ½x·(1 + erf(x/√2)).
    @inline(__always)
    static func gelu(_ x: Lanes) -> Lanes {
        0.5 * x * (1 + erf(x * 0.70710678118654752))
    }

    /// erf(x) as a rational function x·P(x²)/Q(x²) on [−4, 4], ±1 beyond (Eigen's and XLA's
    /// float32 erf; max. abs. error 6.5e-8 before rounding). No exponential, one division.
    @inline(__always)
    static func erf(_ input: Lanes) -> Lanes {
        let x = input.replacing(with: -4, where: input .< -4).replacing(with: 4, where: input .> 4)
        let z = x * x
        var p = Lanes(repeating: -2.72614225801306e-10)
        p = p * z + 2.77068142495902e-08
        p = p * z - 2.10102402082508e-06
        p = p * z - 5.69250639462346e-05
        p = p * z - 7.34990630326855e-04
        p = p * z - 2.95459980854025e-03
        p = p * z - 1.60960333262415e-02
        var q = Lanes(repeating: -1.45660718464996e-05)
        q = q * z - 2.13374055278905e-04
        q = q * z - 1.68282697438203e-03
        q = q * z - 7.37332916720468e-03
        q = q * z - 1.42647390514189e-02
        return x * p / q
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

    /// tanh(x) as a rational function x·P(x²)/Q(x²) on [−7.9053, 7.9053], ±(1 − 2.6e-7) beyond
    /// (Eigen's float32 tanh; max. abs. and rel. error 2.6e-7). No exponential, one division.
    @inline(__always)
    static func tanh(_ input: Lanes) -> Lanes {
        let limit: Float = 7.90531110763549805
        let x = input.replacing(with: -limit, where: input .< -limit).replacing(with: limit, where: input .> limit)
        let z = x * x
        var p = Lanes(repeating: -2.76076847742355e-16)
        p = p * z + 2.00018790482477e-13
        p = p * z - 8.60467152213735e-11
        p = p * z + 5.12229709037114e-08
        p = p * z + 1.48572235717979e-05
        p = p * z + 6.37261928875436e-04
        p = p * z + 4.89352455891786e-03
        var q = Lanes(repeating: 1.19825839466702e-06)
        q = q * z + 1.18534705686654e-04
        q = q * z + 2.26843463243900e-03
        q = q * z + 4.89352518554385e-03
        return x * p / q
    }
}
