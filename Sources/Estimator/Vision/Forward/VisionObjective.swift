/// KL cost of a vision classifier on fixed eval images: the mean over images of
/// KL(p_θ0 ‖ p_θ) over the classes; or its loss cost against the images' labels (`AnchorLoss`).
///
/// An evaluation runs `VisionForwardPass` at θ0 + t·v̂: segment by segment, each segment's
/// perturbed weights written once, its chunks of images spread over the evaluator's lanes. The
/// anchor's logits come from the same pass at t = 0, so its cost is exactly 0, and the KL is
/// summed over all images in image order after the pass: the same bits for any number of lanes.
final class VisionObjective: KLObjective {
    let model: VisionModel
    let pass: VisionForwardPass
    let cost: NeighbourhoodCost

    /// `lanes` threads run the anchor's forward pass. With `loss` (its targets, the anchor's loss
    /// not yet set) the cost is the loss's.
    init(model: VisionModel, pixels: Tensor<Float>, loss: AnchorLoss? = nil, lanes: Int = WorkerPool.coreCount,
         rowsPerChunk: Int = VisionProgram.defaultRowsPerChunk) throws(EstimatorError) {
        self.model = model
        let pass = VisionForwardPass(structure: model.structure, pixels: pixels, rowsPerChunk: rowsPerChunk)
        self.pass = pass
        let state = VisionForwardState(pass, lanes: lanes)
        model.anchor.withUnsafeBufferPointer { pass.evaluate(anchor: $0.baseAddress!, direction: nil, t: 0, state: state) }
        cost = try withExtendedLifetime(state) { () throws(EstimatorError) -> NeighbourhoodCost in
            let logits = UnsafeBufferPointer(state.logits)
            let rows = pass.images, classes = model.classes
            guard var loss else { return .kl(try AnchorDistribution(logits: logits, rows: rows, classes: classes)) }
            try loss.setAnchor(total: loss.crossEntropySum(logits: logits.baseAddress!, rows: 0..<rows,
                                                           workspace: KLWorkspace(rows: rows, classes: classes)))
            return .loss(loss)
        }
    }

    var dimension: Int { model.layout.count }
    var positions: Int { cost.positions }

    func makeEvaluator() -> any RayEvaluator { VisionRayEvaluator(self, lanes: 1) }

    func makeEvaluator(lanes: Int) -> any RayEvaluator { VisionRayEvaluator(self, lanes: lanes) }

    /// One evaluation's floating-point operations: 2 × the multiply-adds of the convolutions and
    /// linear layers.
    var flopsPerEvaluation: Int { pass.program.flops }

    /// Bytes of one evaluator on `lanes` lanes, without building it.
    func evaluatorBytes(lanes: Int) -> Int {
        VisionForwardState.byteCount(pass, lanes: lanes) + KLWorkspace.byteCount(rows: pass.images, classes: model.classes)
    }
}

final class VisionRayEvaluator: RayEvaluator {
    private let objective: VisionObjective
    private let state: VisionForwardState
    private let workspace: KLWorkspace
    private var direction: RayDirection?

    init(_ objective: VisionObjective, lanes: Int) {
        self.objective = objective
        state = VisionForwardState(objective.pass, lanes: lanes)
        workspace = KLWorkspace(rows: objective.pass.images, classes: objective.model.classes)
    }

    var lanes: Int { state.lanes }

    var byteCount: Int { state.byteCount + workspace.byteCount }

    func setDirection(_ direction: RayDirection) {
        precondition(direction.dimension == objective.dimension)
        self.direction = direction
    }

    func cost(at t: Double) -> Double {
        guard let direction else { preconditionFailure("setDirection before cost") }
        let pass = objective.pass
        objective.model.anchor.withUnsafeBufferPointer {
            pass.evaluate(anchor: $0.baseAddress!, direction: direction, t: Float(t), state: state)
        }
        let cost = objective.cost
        return cost.cost(total: cost.sum(logits: state.logits.baseAddress!, rows: 0..<pass.images, workspace: workspace))
    }
}
