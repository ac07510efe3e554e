/// f and f′ together, for the backward passes: the same formulas as `Activation.apply`, in any
/// `BLASScalar`. At a ReLU's kink f′(0) = 0, as in PyTorch.
extension Activation {
    @inlinable
    func valueAndSlope<T: BLASScalar>(_ x: T) -> (value: T, slope: T) {
        switch self {
        case .relu:
            return x > 0 ? (x, 1) : (x.isNaN ? x : 0, 0)
        case .gelu:
            let cdf = 0.5 * (1 + T.erf(x * 0.70710678118654752))
            let density = T.exp(-0.5 * x * x) * 0.39894228040143268
            return (x * cdf, cdf + x * density)
        case .geluTanh:
            let k: T = 0.79788456080286536
            let th = T.tanh(k * (x + 0.044715 * x * x * x))
            return (0.5 * x * (1 + th), 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x))
        case .tanh:
            let th = T.tanh(x)
            return (th, 1 - th * th)
        case .sigmoid:
            let s = 1 / (1 + T.exp(-x))
            return (s, s * (1 - s))
        case .silu:
            let s = 1 / (1 + T.exp(-x))
            return (x * s, s * (1 + x * (1 - s)))
        }
    }
}
