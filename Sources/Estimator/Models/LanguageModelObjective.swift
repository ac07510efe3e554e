/// KL cost of a language model on a fixed token batch: mean over unmasked positions of
/// KL(p_θ0 ‖ p_θ) over the vocabulary.
///
/// Along a ray only the embedding lookup is linear in t — (E0 + t·V)[ids] = E0[ids] + t·V[ids] —
/// so E0[ids] (+ positions) is gathered once here and V[ids] once per direction; every later
/// layer runs on the perturbed weights, as one batch over all N·T tokens.
final class LanguageModelObjective: KLObjective {
    let model: LanguageModel
    let tokens: TokenContext
    let anchorDistribution: AnchorDistribution
    /// E0[ids] (+ P0[positions]), [tokens, hidden].
    let embeddedAtAnchor: [Float]
    /// Ranges of θ read by the layers after the embedding: the ones perturbed per evaluation.
    let perturbedRanges: [Range<Int>]

    init(model: LanguageModel, tokens: TokenContext) throws(EstimatorError) {
        self.model = model
        self.tokens = tokens
        let structure = model.structure
        var embedded = [Float](repeating: 0, count: tokens.tokens * structure.hidden)
        let workspace = TransformerWorkspace(structure: structure, tokens: tokens)
        model.anchor.withUnsafeBufferPointer { th in
            embedded.withUnsafeMutableBufferPointer { e in
                structure.embed(tokens, theta: th.baseAddress!, into: e.baseAddress!)
                // The evaluator's own code path at t = 0, so the anchor's KL is exactly 0.
                _ = workspace.hidden.initialize(from: e)
            }
            structure.forward(tokens, theta: th.baseAddress!, workspace: workspace)
        }
        embeddedAtAnchor = embedded
        anchorDistribution = try AnchorDistribution(logits: UnsafeBufferPointer(workspace.logits),
                                                    rows: tokens.tokens, classes: structure.vocabulary,
                                                    included: tokens.included)
        perturbedRanges = Self.ranges(of: model.layout, excluding: structure.embeddingOnly)
    }

    var dimension: Int { model.layout.count }
    var positions: Int { anchorDistribution.positions }

    func makeEvaluator() -> any RayEvaluator { LanguageModelRayEvaluator(self) }

    /// One evaluation's floating-point operations (matrix products and attention).
    var flopsPerEvaluation: Int { model.structure.flops(rows: tokens.rows, length: tokens.length) }

    /// The layout's ranges minus `excluded` parameters, adjacent ranges merged.
    static func ranges(of layout: ParameterLayout, excluding excluded: [Parameter]) -> [Range<Int>] {
        let skip = Set(excluded.map(\.offset))
        var ranges: [Range<Int>] = []
        for p in layout.parameters where !skip.contains(p.offset) {
            if let last = ranges.last, last.upperBound == p.offset {
                ranges[ranges.count - 1] = last.lowerBound..<p.range.upperBound
            } else {
                ranges.append(p.range)
            }
        }
        return ranges
    }
}

final class LanguageModelRayEvaluator: RayEvaluator {
    private let objective: LanguageModelObjective
    private let structure: TransformerStructure
    private let workspace: TransformerWorkspace
    private let klWorkspace: KLWorkspace
    /// θ0 + t·v̂ (only `perturbedRanges` are rewritten per evaluation).
    private let theta: UnsafeMutableBufferPointer<Float>
    /// V[ids] (+ V_P[positions]) for the current direction, [tokens, hidden].
    private let embeddingSlope: UnsafeMutableBufferPointer<Float>
    private var direction: UnsafeBufferPointer<Float>?

    init(_ objective: LanguageModelObjective) {
        self.objective = objective
        structure = objective.model.structure
        workspace = TransformerWorkspace(structure: structure, tokens: objective.tokens)
        klWorkspace = KLWorkspace(rows: objective.tokens.tokens, classes: structure.vocabulary)
        theta = .allocate(capacity: objective.dimension)
        _ = theta.initialize(from: objective.model.anchor)
        embeddingSlope = .allocate(capacity: objective.embeddedAtAnchor.count)
    }

    deinit {
        theta.deallocate()
        embeddingSlope.deallocate()
    }

    /// Bytes of this evaluator's activation buffers: the forward pass's, the embedding slope and
    /// the KL scratch (not θ, which is weight-sized).
    var activationByteCount: Int {
        embeddingSlope.count * MemoryLayout<Float>.stride + workspace.byteCount
            + objective.tokens.tokens * MemoryLayout<Double>.stride
    }

    func setDirection(_ direction: UnsafeBufferPointer<Float>) {
        precondition(direction.count == objective.dimension)
        self.direction = direction
        structure.embed(objective.tokens, theta: direction.baseAddress!, into: embeddingSlope.baseAddress!)
    }

    func cost(at t: Double) -> Double {
        guard let direction else { preconditionFailure("setDirection before cost") }
        let tf = Float(t)
        let v = direction.baseAddress!
        objective.model.anchor.withUnsafeBufferPointer { anchor in
            let a = anchor.baseAddress!
            for range in objective.perturbedRanges {
                for i in range { theta[i] = a[i] + tf * v[i] }
            }
        }
        objective.embeddedAtAnchor.withUnsafeBufferPointer { e in
            for i in 0..<e.count { workspace.hidden[i] = e[i] + tf * embeddingSlope[i] }
        }
        structure.forward(objective.tokens, theta: UnsafePointer(theta.baseAddress!), workspace: workspace)
        return objective.anchorDistribution.meanKL(logits: workspace.logits.baseAddress!, workspace: klWorkspace)
    }
}
