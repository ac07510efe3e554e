/// A multilayer perceptron: linear layers (`y = x·Wᵀ + b`, W stored [out, in]) with one
/// activation between consecutive layers and logits out — `torch.nn.Sequential` of
/// `Linear` and activation modules, as in the digits fixture.
public struct MLP: Model {
    public struct Layer: Sendable {
        public let weight: Parameter
        public let bias: Parameter?
        public var inputs: Int { weight.shape[1] }
        public var outputs: Int { weight.shape[0] }
    }

    public let architecture = "mlp"
    public let layout: ParameterLayout
    public let anchor: [Float]
    public let layers: [Layer]
    public let activation: Activation

    /// Infers the layers from `<module>.weight` / `<module>.bias` tensors, ordered by module
    /// name (numeric components compared as numbers: `2` before `10`).
    public init(weights: any TensorStore, activation: Activation) throws(EstimatorError) {
        var modules: [String: (weight: String?, bias: String?)] = [:]
        for name in weights.tensorNames {
            if name.hasSuffix(".weight") {
                modules[String(name.dropLast(7)), default: (nil, nil)].weight = name
            } else if name.hasSuffix(".bias") {
                modules[String(name.dropLast(5)), default: (nil, nil)].bias = name
            } else {
                throw EstimatorError(code: "model.unexpected_tensor",
                                 "\(weights.source): tensor '\(name)' is not a linear layer's weight or bias (MLP)")
            }
        }
        guard !modules.isEmpty else {
            throw EstimatorError(code: "model.no_layers", "\(weights.source): no '<module>.weight' tensors found (MLP)")
        }
        let order = modules.keys.sorted(by: MLP.moduleOrder)

        var entries: [(name: String, shape: [Int], inLayerNormModule: Bool)] = []
        var values: [[Float]] = []
        var previousOutputs: Int?
        for module in order {
            let (weightName, biasName) = modules[module]!
            guard let weightName else {
                throw EstimatorError(code: "model.missing_tensor", "\(weights.source): '\(module).bias' has no '\(module).weight'")
            }
            let w = try MLP.load(weights, weightName)
            guard w.shape.count == 2, w.shape[0] > 0, w.shape[1] > 0 else {
                throw EstimatorError(code: "model.shape", "\(weights.source): '\(weightName)' has shape \(w.shape); a linear layer's weight is [out, in]")
            }
            if let previousOutputs, previousOutputs != w.shape[1] {
                throw EstimatorError(code: "model.shape",
                                 "\(weights.source): '\(weightName)' takes \(w.shape[1]) inputs but the previous layer gives \(previousOutputs)")
            }
            entries.append((weightName, w.shape, false))
            values.append(w.floats())
            if let biasName {
                let b = try MLP.load(weights, biasName)
                guard b.shape == [w.shape[0]] else {
                    throw EstimatorError(code: "model.shape",
                                     "\(weights.source): '\(biasName)' has shape \(b.shape); expected [\(w.shape[0])]")
                }
                entries.append((biasName, b.shape, false))
                values.append(b.floats())
            }
            previousOutputs = w.shape[0]
        }
        let layout = ParameterLayout(entries)
        self.layout = layout
        self.anchor = Array(values.joined())
        self.activation = activation
        self.layers = order.map { module in
            Layer(weight: layout[module + ".weight"]!, bias: layout[module + ".bias"])
        }
        try checkFinite(anchor, layout: layout, source: weights.source)
    }

    public var inputs: Int { layers[0].inputs }
    public var classes: Int { layers[layers.count - 1].outputs }

    /// Logits for `inputs` [N, d] at parameters `theta` (flat, `layout` order): [N, classes].
    public func logits(_ inputs: Tensor<Float>, theta: [Float]) -> [Float] {
        precondition(inputs.rank == 2 && inputs.shape[1] == self.inputs && theta.count == layout.count)
        let n = inputs.shape[0]
        var x = inputs.scalars
        for (i, layer) in layers.enumerated() {
            var y = [Float](repeating: 0, count: n * layer.outputs)
            theta.withUnsafeBufferPointer { th in
                x.withUnsafeBufferPointer { xb in
                    y.withUnsafeMutableBufferPointer { yb in
                        MLP.linear(xb.baseAddress!, rows: n, layer: layer, theta: th.baseAddress!, into: yb.baseAddress!)
                    }
                }
            }
            if i < layers.count - 1 {
                y.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
            }
            x = y
        }
        return x
    }

    public func klObjective(data: EvalData) throws(EstimatorError) -> any KLObjective {
        try MLPObjective(model: self, inputs: try features(data))
    }

    public func lossObjective(data: EvalData, labels: [Int]?) throws(EstimatorError) -> any KLObjective {
        let inputs = try features(data)
        let loss = try AnchorLoss.labels(labels, rows: inputs.shape[0], classes: classes)
        return try MLPObjective(model: self, inputs: inputs, loss: loss)
    }

    /// y[rows, out] = x·Wᵀ + b with W and b read from `theta`.
    static func linear(_ x: UnsafePointer<Float>, rows: Int, layer: Layer, theta: UnsafePointer<Float>,
                       into y: UnsafeMutablePointer<Float>) {
        linear(x, rows: rows, inputs: layer.inputs, outputs: layer.outputs,
               weight: theta + layer.weight.offset, bias: layer.bias.map { theta + $0.offset }, into: y)
    }

    static func linear(_ x: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                       weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>) {
        BLAS.gemm(transB: true, m: rows, n: outputs, k: inputs, a: x, lda: inputs, b: weight, ldb: inputs, c: y, ldc: outputs)
        if let bias {
            for r in 0..<rows {
                let row = y + r * outputs
                for j in 0..<outputs { row[j] += bias[j] }
            }
        }
    }

    private static func load(_ store: any TensorStore, _ name: String) throws(EstimatorError) -> RawTensor {
        do {
            return try store.tensor(name)
        } catch {
            throw EstimatorError(code: error.code, error.description)
        }
    }

    /// `net.2` < `net.10`: dotted components compared numerically when both are numbers.
    static func moduleOrder(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: ".", omittingEmptySubsequences: false)
        let y = b.split(separator: ".", omittingEmptySubsequences: false)
        for (p, q) in zip(x, y) where p != q {
            if let i = Int(p), let j = Int(q) { return i < j }
            return p < q
        }
        return x.count < y.count
    }
}

/// Rejects NaN/∞ weights up front, naming the tensor, instead of failing later in the search.
func checkFinite(_ theta: [Float], layout: ParameterLayout, source: String) throws(EstimatorError) {
    for p in layout.parameters {
        var bad = 0
        for i in p.range where !theta[i].isFinite { bad += 1 }
        if bad > 0 {
            throw EstimatorError(code: "model.nonfinite_weights",
                             "\(source): tensor '\(p.name)' has \(bad) NaN or infinite value\(bad == 1 ? "" : "s")")
        }
    }
}
