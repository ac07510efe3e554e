/// Reverse mode for an MLP at its anchor. The forward pass keeps each layer's input a_l and the
/// activation's slope f′(z_l); a cotangent g at the logits then runs back as
/// δ_{L−1} = g, δ_{l−1} = (δ_l·W_l) ∘ f′(z_{l−1}), and each example's gradient for layer l is
/// δ_l ⊗ a_l (weight) and δ_l (bias). Per-example squares of a linear layer are therefore one
/// GEMM, (δ∘δ)ᵀ·(a∘a), never a sum of gradients squared.
///
/// `Scalar` is `Float` in production (sgemm) and `Double` in the finite-difference tests.
struct MLPBackwardPass<Scalar: BLASScalar>: BackwardPass {
    let layers: [MLP.Layer]
    let activation: Activation
    let theta: [Scalar]
    let dimension: Int
    let examples: Int
    /// a_l, the input of layer l, [rows, inputs_l].
    let layerInputs: [[Scalar]]
    /// a_l ∘ a_l.
    let squaredInputs: [[Scalar]]
    /// f′(z_l) of hidden layer l, [rows, outputs_l].
    let slopes: [[Scalar]]
    let logits: [Scalar]
    let anchor: AnchorProbabilities

    /// The forward pass of `model` at `theta` (its anchor when nil) on `inputs` [N, d].
    init(model: MLP, inputs: Tensor<Float>, theta: [Scalar]? = nil) throws(EstimatorError) {
        precondition(inputs.rank == 2 && inputs.shape[1] == model.inputs)
        let theta = theta ?? model.anchor.map { Scalar($0) }
        precondition(theta.count == model.layout.count)
        layers = model.layers
        activation = model.activation
        self.theta = theta
        dimension = theta.count
        examples = inputs.shape[0]
        let forward = MLPBackwardPass.forward(layers: layers, activation: activation, theta: theta,
                                              inputs: inputs.scalars.map { Scalar($0) }, rows: examples)
        layerInputs = forward.layerInputs
        squaredInputs = forward.layerInputs.map { $0.map { $0 * $0 } }
        slopes = forward.slopes
        logits = forward.logits
        let float64 = forward.logits.map { Double($0) }
        anchor = try float64.withUnsafeBufferPointer { (l) throws(EstimatorError) in
            try AnchorProbabilities(logits: l, rows: inputs.shape[0], classes: model.classes)
        }
    }

    /// Logits at `theta` ([rows, classes]), with every layer's input and hidden slope.
    static func forward(layers: [MLP.Layer], activation: Activation, theta: [Scalar], inputs: [Scalar], rows: Int)
        -> (layerInputs: [[Scalar]], slopes: [[Scalar]], logits: [Scalar]) {
        var layerInputs: [[Scalar]] = [inputs]
        var slopes: [[Scalar]] = []
        var x = inputs
        for (l, layer) in layers.enumerated() {
            var z = [Scalar](repeating: 0, count: rows * layer.outputs)
            theta.withUnsafeBufferPointer { th in
                x.withUnsafeBufferPointer { x in
                    z.withUnsafeMutableBufferPointer { z in
                        Scalar.gemm(transA: false, transB: true, m: rows, n: layer.outputs, k: layer.inputs, alpha: 1,
                                    a: x.baseAddress!, lda: layer.inputs, b: th.baseAddress! + layer.weight.offset,
                                    ldb: layer.inputs, beta: 0, c: z.baseAddress!, ldc: layer.outputs)
                        if let bias = layer.bias {
                            for r in 0..<rows {
                                for j in 0..<layer.outputs { z[r * layer.outputs + j] += th[bias.offset + j] }
                            }
                        }
                    }
                }
            }
            if l < layers.count - 1 {
                var slope = [Scalar](repeating: 0, count: z.count)
                for i in z.indices { (z[i], slope[i]) = activation.valueAndSlope(z[i]) }
                slopes.append(slope)
                layerInputs.append(z)
            }
            x = z
        }
        return (layerInputs, slopes, x)
    }

    var classes: Int { layers[layers.count - 1].outputs }

    func pullback(examples: Range<Int>, cotangents: UnsafePointer<Scalar>,
                  sum: UnsafeMutablePointer<Scalar>?, squares: UnsafeMutablePointer<Scalar>?) {
        let count = examples.count
        var deltaSquared: [Scalar] = []
        backward(examples, cotangents) { l, delta in
            let layer = layers[l]
            let (n, m) = (layer.outputs, layer.inputs)
            if let sum {
                layerInputs[l].withUnsafeBufferPointer { a in
                    Scalar.gemm(transA: true, transB: false, m: n, n: m, k: count, alpha: 1, a: delta, lda: n,
                                b: a.baseAddress! + examples.lowerBound * m, ldb: m,
                                beta: 1, c: sum + layer.weight.offset, ldc: m)
                }
                if let bias = layer.bias {
                    for r in 0..<count {
                        for i in 0..<n { sum[bias.offset + i] += delta[r * n + i] }
                    }
                }
            }
            if let squares {
                deltaSquared.removeAll(keepingCapacity: true)
                for i in 0..<(count * n) { deltaSquared.append(delta[i] * delta[i]) }
                deltaSquared.withUnsafeBufferPointer { d2 in
                    squaredInputs[l].withUnsafeBufferPointer { a2 in
                        Scalar.gemm(transA: true, transB: false, m: n, n: m, k: count, alpha: 1, a: d2.baseAddress!, lda: n,
                                    b: a2.baseAddress! + examples.lowerBound * m, ldb: m,
                                    beta: 1, c: squares + layer.weight.offset, ldc: m)
                    }
                    if let bias = layer.bias {
                        for r in 0..<count {
                            for i in 0..<n { squares[bias.offset + i] += d2[r * n + i] }
                        }
                    }
                }
            }
        }
    }

    func jacobianRows(examples: Range<Int>, cotangents: UnsafePointer<Scalar>, into rows: UnsafeMutablePointer<Scalar>) {
        backward(examples, cotangents) { l, delta in
            let layer = layers[l]
            let (n, m) = (layer.outputs, layer.inputs)
            layerInputs[l].withUnsafeBufferPointer { inputs in
                for r in 0..<examples.count {
                    let row = rows + r * dimension
                    let a = inputs.baseAddress! + (examples.lowerBound + r) * m
                    for i in 0..<n {
                        let d = delta[r * n + i]
                        let weights = row + layer.weight.offset + i * m
                        for j in 0..<m { weights[j] = d * a[j] }
                        if let bias = layer.bias { row[bias.offset + i] = d }
                    }
                }
            }
        }
    }

    /// Runs δ from the logits back to the first layer, handing each layer's δ ([count, outputs])
    /// to `visit`, last layer first.
    private func backward(_ examples: Range<Int>, _ cotangents: UnsafePointer<Scalar>,
                          _ visit: (Int, UnsafePointer<Scalar>) -> Void) {
        let count = examples.count
        var delta = Array(UnsafeBufferPointer(start: cotangents, count: count * classes))
        theta.withUnsafeBufferPointer { th in
            for l in stride(from: layers.count - 1, through: 0, by: -1) {
                let layer = layers[l]
                delta.withUnsafeBufferPointer { visit(l, $0.baseAddress!) }
                guard l > 0 else { return }
                let m = layer.inputs
                var previous = [Scalar](repeating: 0, count: count * m)
                delta.withUnsafeBufferPointer { d in
                    previous.withUnsafeMutableBufferPointer { p in
                        Scalar.gemm(transA: false, transB: false, m: count, n: m, k: layer.outputs, alpha: 1,
                                    a: d.baseAddress!, lda: layer.outputs, b: th.baseAddress! + layer.weight.offset, ldb: m,
                                    beta: 0, c: p.baseAddress!, ldc: m)
                        slopes[l - 1].withUnsafeBufferPointer { s in
                            let slope = s.baseAddress! + examples.lowerBound * m
                            for i in 0..<(count * m) { p[i] *= slope[i] }
                        }
                    }
                }
                delta = previous
            }
        }
    }
}

extension MLP: CurvatureModel {
    public func backwardPass(data: EvalData) throws(EstimatorError) -> any BackwardPass<Float> {
        try MLPBackwardPass<Float>(model: self, inputs: try features(data))
    }

    /// The `inputs` tensor of MLP eval data, shape-checked.
    func features(_ data: EvalData) throws(EstimatorError) -> Tensor<Float> {
        guard case .features(let inputs) = data else {
            throw EstimatorError(code: "eval.kind", "an MLP needs eval data with 'inputs' [N, \(self.inputs)], not token ids")
        }
        guard inputs.rank == 2, inputs.shape[1] == self.inputs else {
            throw EstimatorError(code: "eval.shape", "eval 'inputs' has shape \(inputs.shape); this MLP takes [N, \(self.inputs)]")
        }
        return inputs
    }
}
