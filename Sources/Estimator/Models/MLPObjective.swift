/// KL or loss cost of an MLP on fixed inputs. The first layer is affine in t along a ray,
/// x·(W + tV)ᵀ + (b + t·c) = (x·Wᵀ + b) + t·(x·Vᵀ + c), so x·Wᵀ + b is computed once here and
/// x·Vᵀ + c once per direction; each evaluation then costs only the later layers.
final class MLPObjective: KLObjective {
    let model: MLP
    let inputs: Tensor<Float>
    let cost: NeighbourhoodCost
    /// x·W₁ᵀ + b₁ at the anchor, [N, H₁].
    let firstLayerAtAnchor: [Float]

    /// The KL cost, or with `loss` (its targets, the anchor's loss not yet set) the loss cost.
    init(model: MLP, inputs: Tensor<Float>, loss: AnchorLoss? = nil) throws(EstimatorError) {
        self.model = model
        self.inputs = inputs
        let n = inputs.shape[0]
        let first = model.layers[0]
        var a0 = [Float](repeating: 0, count: n * first.outputs)
        model.anchor.withUnsafeBufferPointer { th in
            inputs.scalars.withUnsafeBufferPointer { x in
                a0.withUnsafeMutableBufferPointer { y in
                    MLP.linear(x.baseAddress!, rows: n, layer: first, theta: th.baseAddress!, into: y.baseAddress!)
                }
            }
        }
        firstLayerAtAnchor = a0
        let logits = model.logits(inputs, theta: model.anchor)
        if var loss {
            let total = logits.withUnsafeBufferPointer { l in
                loss.crossEntropySum(logits: l.baseAddress!, rows: 0..<n, workspace: KLWorkspace(rows: n, classes: model.classes))
            }
            try loss.setAnchor(total: total)
            cost = .loss(loss)
        } else {
            cost = .kl(try logits.withUnsafeBufferPointer { (l) throws(EstimatorError) in
                try AnchorDistribution(logits: l, rows: n, classes: model.classes)
            })
        }
    }

    var dimension: Int { model.layout.count }
    var positions: Int { cost.positions }

    func makeEvaluator() -> any RayEvaluator { MLPRayEvaluator(self) }

    /// Bytes of one evaluator: θ0 + t·v̂ and a materialized direction (D each), the first
    /// layer's slope, two hidden buffers and the KL scratch.
    var evaluatorBytes: Int {
        let rows = inputs.shape[0]
        let widest = model.layers.map(\.outputs).max()!
        return (2 * dimension + rows * model.layers[0].outputs + 2 * rows * widest) * MemoryLayout<Float>.stride
            + KLWorkspace.byteCount(rows: rows, classes: model.classes)
    }
}

final class MLPRayEvaluator: RayEvaluator {
    private let objective: MLPObjective
    private let rows: Int
    private let layers: [MLP.Layer]
    private let activation: Activation
    /// x·Vᵀ + c for the current direction, [N, H₁].
    private let firstLayerSlope: UnsafeMutableBufferPointer<Float>
    private let hiddenA: UnsafeMutableBufferPointer<Float>
    private let hiddenB: UnsafeMutableBufferPointer<Float>
    /// θ0 + t·v̂ for layers after the first.
    private let theta: UnsafeMutableBufferPointer<Float>
    /// A streamed direction materialized (an MLP's D is small).
    private let materialized: UnsafeMutableBufferPointer<Float>
    private var direction: UnsafeBufferPointer<Float>?
    private let workspace: KLWorkspace

    init(_ objective: MLPObjective) {
        self.objective = objective
        rows = objective.inputs.shape[0]
        layers = objective.model.layers
        activation = objective.model.activation
        let widest = layers.map(\.outputs).max()!
        firstLayerSlope = .allocate(capacity: rows * layers[0].outputs)
        hiddenA = .allocate(capacity: rows * widest)
        hiddenB = .allocate(capacity: rows * widest)
        workspace = KLWorkspace(rows: rows, classes: objective.model.classes)
        theta = .allocate(capacity: objective.model.anchor.count)
        _ = theta.initialize(from: objective.model.anchor)
        materialized = .allocate(capacity: objective.model.anchor.count)
    }

    deinit {
        firstLayerSlope.deallocate()
        hiddenA.deallocate()
        hiddenB.deallocate()
        theta.deallocate()
        materialized.deallocate()
    }

    func setDirection(_ ray: RayDirection) {
        precondition(ray.dimension == objective.dimension)
        let direction = ray.buffer ?? {
            ray.materialize(into: materialized)
            return UnsafeBufferPointer(materialized)
        }()
        self.direction = direction
        let first = layers[0]
        objective.inputs.scalars.withUnsafeBufferPointer { x in
            MLP.linear(x.baseAddress!, rows: rows, layer: first, theta: direction.baseAddress!,
                       into: firstLayerSlope.baseAddress!)
        }
    }

    func cost(at t: Double) -> Double {
        guard let direction else { preconditionFailure("setDirection before cost") }
        let tf = Float(t)
        let first = layers[0]
        let n0 = rows * first.outputs
        objective.firstLayerAtAnchor.withUnsafeBufferPointer { a0 in
            for i in 0..<n0 { hiddenA[i] = a0[i] + tf * firstLayerSlope[i] }
        }
        var current = hiddenA.baseAddress!
        var other = hiddenB.baseAddress!
        objective.model.anchor.withUnsafeBufferPointer { anchor in
            for layer in layers.dropFirst() {
                activation.apply(current, count: rows * layer.inputs)
                perturb(layer.weight.range, anchor, direction, tf)
                if let bias = layer.bias { perturb(bias.range, anchor, direction, tf) }
                MLP.linear(current, rows: rows, layer: layer, theta: theta.baseAddress!, into: other)
                swap(&current, &other)
            }
        }
        let cost = objective.cost
        return cost.cost(total: cost.sum(logits: current, rows: 0..<rows, workspace: workspace))
    }

    @inline(__always)
    private func perturb(_ range: Range<Int>, _ anchor: UnsafeBufferPointer<Float>,
                         _ direction: UnsafeBufferPointer<Float>, _ t: Float) {
        for i in range { theta[i] = anchor[i] + t * direction[i] }
    }
}
