#if canImport(Glibc)
import Glibc
#endif

/// Elementwise nonlinearities, named as users write them (docs/estimator.md, "Models").
public enum Activation: String, Sendable, CaseIterable {
    case relu
    /// Exact, erf-based (PyTorch's default `nn.GELU()`, HF `gelu`).
    case gelu
    /// Tanh approximation (HF `gelu_new`, `gelu_pytorch_tanh`).
    case geluTanh = "gelu_tanh"
    case tanh
    case sigmoid
    case silu

    /// Accepts our names and the Hugging Face `hidden_act` spellings.
    public init?(name: String) {
        switch name.lowercased() {
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "swish": self = .silu
        default: self.init(rawValue: name.lowercased())
        }
    }

    /// Applies the activation in place.
    @inlinable
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            for i in 0..<count { x[i] = Swift.max(x[i], 0) }  // NaN stays NaN, as in PyTorch
        case .gelu:
            for i in 0..<count {
                let v = x[i]
                x[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752))
            }
        case .geluTanh:
            for i in 0..<count {
                let v = x[i]
                x[i] = 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
            }
        case .tanh:
            for i in 0..<count { x[i] = tanhf(x[i]) }
        case .sigmoid:
            for i in 0..<count { x[i] = 1 / (1 + expf(-x[i])) }
        case .silu:
            for i in 0..<count {
                let v = x[i]
                x[i] = v / (1 + expf(-v))
            }
        }
    }
}
