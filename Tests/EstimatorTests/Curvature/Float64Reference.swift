import Glibc
@testable import Estimator

/// Float64 forward passes and KL for the finite-difference checks, independent of the backward
/// pass: the KL is computed from logit differences with log1p/expm1 so that its O(h²) value
/// keeps full relative precision at small steps.
struct Float64Reference {
    let model: MLP
    let inputs: [Double]
    let rows: Int
    private(set) var anchorLogits: [Double]
    /// softmax of the anchor's logits, [rows, classes].
    private(set) var anchorProbabilities: [Double]

    init(model: MLP, inputs: Tensor<Float>, anchor: [Double]? = nil) {
        self.model = model
        self.inputs = inputs.scalars.map(Double.init)
        rows = inputs.shape[0]
        anchorLogits = []
        anchorProbabilities = []
        let logits = self.logits(anchor ?? model.anchor.map(Double.init))
        anchorLogits = logits
        let c = model.classes
        var p = [Double](repeating: 0, count: logits.count)
        for r in 0..<rows {
            let row = logits[(r * c)..<((r + 1) * c)]
            let m = row.max()!
            let s = row.reduce(0) { $0 + exp($1 - m) }
            for k in 0..<c { p[r * c + k] = exp(logits[r * c + k] - m) / s }
        }
        anchorProbabilities = p
    }

    var classes: Int { model.classes }

    /// The MLP's logits at `theta`, written out here in float64 (dgemm for the products).
    func logits(_ theta: [Double]) -> [Double] {
        var x = inputs
        for (l, layer) in model.layers.enumerated() {
            let (m, n) = (layer.inputs, layer.outputs)
            var z = [Double](repeating: 0, count: rows * n)
            theta.withUnsafeBufferPointer { th in
                Double.gemm(transA: false, transB: true, m: rows, n: n, k: m, alpha: 1, a: x, lda: m,
                            b: th.baseAddress! + layer.weight.offset, ldb: m, beta: 0, c: &z, ldc: n)
            }
            if let bias = layer.bias {
                for r in 0..<rows {
                    for j in 0..<n { z[r * n + j] += theta[bias.offset + j] }
                }
            }
            if l < model.layers.count - 1 { Self.activate(&z, model.activation) }
            x = z
        }
        return x
    }

    static func activate(_ z: inout [Double], _ activation: Activation) {
        switch activation {
        case .relu: for i in z.indices where !(z[i] > 0) { z[i] = 0 }
        case .gelu: for i in z.indices { z[i] = 0.5 * z[i] * (1 + erf(z[i] / 2.0.squareRoot())) }
        case .geluTanh:
            for i in z.indices {
                let v = z[i]
                z[i] = 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
            }
        case .tanh: for i in z.indices { z[i] = tanh(z[i]) }
        case .sigmoid: for i in z.indices { z[i] = 1 / (1 + exp(-z[i])) }
        case .silu: for i in z.indices { z[i] = z[i] / (1 + exp(-z[i])) }
        }
    }

    /// Mean over rows of KL(p_anchor ‖ softmax(logits(θ))) = log Σ p·e^x with x = Δ − Σ p·Δ,
    /// Δ = logits − anchor logits.
    func kl(_ theta: [Double]) -> Double {
        let l = logits(theta)
        let c = classes
        var total = 0.0
        for r in 0..<rows {
            var mean = 0.0
            for k in 0..<c { mean += anchorProbabilities[r * c + k] * (l[r * c + k] - anchorLogits[r * c + k]) }
            var second = 0.0, first = 0.0
            for k in 0..<c {
                let x = l[r * c + k] - anchorLogits[r * c + k] - mean
                second += anchorProbabilities[r * c + k] * Self.expm1MinusX(x)
                first += anchorProbabilities[r * c + k] * x
            }
            total += log1p(second + first)
        }
        return total / Double(rows)
    }

    /// e^x − 1 − x without cancellation for small x.
    static func expm1MinusX(_ x: Double) -> Double {
        guard abs(x) < 0.1 else { return expm1(x) - x }
        var term = x * x / 2, sum = term
        for n in 3...14 {
            term *= x / Double(n)
            sum += term
        }
        return sum
    }
}

/// A small deterministic generator for test data (SplitMix64).
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [−1, 1).
    mutating func symmetric() -> Double { Double(next() >> 11) * 0x1p-52 - 1 }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Double {
        let u = (Double(next() >> 11) + 0.5) * 0x1p-53, v = Double(next() >> 11) * 0x1p-53
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

/// Named tensors held in memory, for models built in a test.
struct InMemoryTensors: TensorStore {
    let tensors: [(name: String, shape: [Int], values: [Float])]
    var source: String { "in-memory" }
    var tensorNames: [String] { tensors.map(\.name) }

    func tensor(_ name: String) throws(CheckpointError) -> RawTensor {
        guard let t = tensors.first(where: { $0.name == name }) else { throw .missingTensor(name, in: source) }
        return RawTensor(dtype: .f32, shape: t.shape, data: t.values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    }

    /// An MLP with layer widths `widths` (inputs first), weights ~ scale·U(−1, 1).
    static func randomMLP(_ widths: [Int], activation: Activation, scale: Double = 0.8, seed: UInt64) throws -> MLP {
        var random = TestRandom(seed: seed)
        var tensors: [(String, [Int], [Float])] = []
        for l in 0..<(widths.count - 1) {
            let (m, n) = (widths[l], widths[l + 1])
            tensors.append(("\(2 * l).weight", [n, m], (0..<(n * m)).map { _ in Float(scale * random.symmetric()) }))
            tensors.append(("\(2 * l).bias", [n], (0..<n).map { _ in Float(scale * random.symmetric()) }))
        }
        return try MLP(weights: InMemoryTensors(tensors: tensors.map { (name: $0.0, shape: $0.1, values: $0.2) }), activation: activation)
    }

    static func randomInputs(rows: Int, columns: Int, seed: UInt64) -> Tensor<Float> {
        var random = TestRandom(seed: seed)
        return Tensor(shape: [rows, columns], scalars: (0..<(rows * columns)).map { _ in Float(random.symmetric()) })
    }
}
