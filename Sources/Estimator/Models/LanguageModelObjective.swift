/// KL cost of a language model on a fixed token batch: mean over unmasked positions of
/// KL(p_θ0 ‖ p_θ) over the vocabulary.
///
/// An evaluation at θ0 + t·v embeds the whole batch (the lookup is linear in t, so it reads θ0
/// and v directly), then runs stage by stage — each block, then the final norm and head — with
/// that stage's perturbed weights written once into a `RayWeightWindow` and applied to the batch
/// in chunks of whole sequences (attention never crosses sequences). A worker so holds one
/// stage of perturbed weights and one chunk of activations besides the residual stream, not a
/// perturbed copy of θ and the whole batch's activations.
final class LanguageModelObjective: KLObjective {
    let model: LanguageModel
    let tokens: TokenContext
    let pass: ChunkedForwardPass
    let anchorDistribution: AnchorDistribution

    /// A chunk's activation buffers stay within this many bytes when one sequence allows: with a
    /// stage's weights they stay in a core's L2 cache.
    static let chunkByteTarget = 256 << 10

    init(model: LanguageModel, tokens: TokenContext) throws(EstimatorError) {
        self.model = model
        self.tokens = tokens
        let structure = model.structure
        let pass = ChunkedForwardPass(structure: structure, tokens: tokens,
                                      sequencesPerChunk: Self.sequencesPerChunk(structure, tokens))
        self.pass = pass
        // The anchor's logits come from the evaluators' own code path at t = 0, so that its KL
        // is exactly 0.
        var logits = [Float](repeating: 0, count: tokens.tokens * structure.vocabulary)
        let workspace = TransformerWorkspace(structure: structure, tokens: tokens, chunk: pass.chunks[0])
        let window = RayWeightWindow(stages: structure.stages)
        model.anchor.withUnsafeBufferPointer { a in
            logits.withUnsafeMutableBufferPointer { l in
                pass.evaluate(anchor: a.baseAddress!, direction: a.baseAddress!, t: 0, window: window, workspace: workspace) { chunk, chunkLogits in
                    (l.baseAddress! + pass.chunkStarts[chunk] * structure.vocabulary)
                        .update(from: chunkLogits, count: pass.chunks[chunk].tokens * structure.vocabulary)
                }
            }
        }
        anchorDistribution = try logits.withUnsafeBufferPointer { (l) throws(EstimatorError) in
            try AnchorDistribution(logits: l, rows: tokens.tokens, classes: structure.vocabulary, included: tokens.included)
        }
    }

    /// The most whole sequences whose chunk buffers fit `chunkByteTarget` (at least one).
    static func sequencesPerChunk(_ structure: TransformerStructure, _ tokens: TokenContext) -> Int {
        let length = tokens.length
        let bytes = { (sequences: Int) in
            TransformerWorkspace.byteCount(structure: structure, residualTokens: 0, tokens: sequences * length, length: length)
        }
        var sequences = 1
        while sequences < tokens.rows, bytes(sequences + 1) <= chunkByteTarget { sequences += 1 }
        return sequences
    }

    var dimension: Int { model.layout.count }
    var positions: Int { anchorDistribution.positions }

    func makeEvaluator() -> any RayEvaluator { LanguageModelRayEvaluator(self) }

    /// One evaluation's floating-point operations (matrix products and attention).
    var flopsPerEvaluation: Int { model.structure.flops(rows: tokens.rows, length: tokens.length) }
}

final class LanguageModelRayEvaluator: RayEvaluator {
    private let objective: LanguageModelObjective
    private let workspace: TransformerWorkspace
    private let window: RayWeightWindow
    private let klWorkspace: KLWorkspace
    private var direction: UnsafeBufferPointer<Float>?

    init(_ objective: LanguageModelObjective) {
        self.objective = objective
        let structure = objective.model.structure
        workspace = TransformerWorkspace(structure: structure, tokens: objective.tokens, chunk: objective.pass.chunks[0])
        window = RayWeightWindow(stages: structure.stages)
        klWorkspace = KLWorkspace(rows: objective.pass.chunks[0].tokens, classes: structure.vocabulary)
    }

    /// Bytes of this evaluator's buffers: the residual stream, one chunk's activations and KL
    /// scratch, and one stage of perturbed weights.
    var byteCount: Int { workspace.byteCount + klWorkspace.byteCount + window.byteCount }

    func setDirection(_ direction: UnsafeBufferPointer<Float>) {
        precondition(direction.count == objective.dimension)
        self.direction = direction
    }

    func cost(at t: Double) -> Double {
        guard let direction else { preconditionFailure("setDirection before cost") }
        let started = workspace.timings.map { _ in ContinuousClock.now }
        defer { if let started { workspace.timings?.addEvaluation(since: started) } }
        let distribution = objective.anchorDistribution
        var total = 0.0
        objective.model.anchor.withUnsafeBufferPointer { a in
            objective.pass.evaluate(anchor: a.baseAddress!, direction: direction.baseAddress!, t: Float(t),
                               window: window, workspace: workspace) { chunk, logits in
                let start = objective.pass.chunkStarts[chunk]
                workspace.timed(.softmaxKL) {
                    total += distribution.klSum(logits: logits, rows: start..<(start + objective.pass.chunks[chunk].tokens),
                                                workspace: klWorkspace)
                }
            }
        }
        return total / Double(objective.positions)
    }
}

/// A forward pass over a token batch along a ray, stage by stage and chunk by chunk (see
/// `LanguageModelObjective`).
struct ChunkedForwardPass {
    let structure: TransformerStructure
    let tokens: TokenContext
    /// The batch's sequences in consecutive chunks; `chunkStarts[i]` is chunk i's first token.
    let chunks: [TokenContext]
    let chunkStarts: [Int]

    init(structure: TransformerStructure, tokens: TokenContext, sequencesPerChunk: Int) {
        self.structure = structure
        self.tokens = tokens
        let starts = Array(stride(from: 0, to: tokens.rows, by: sequencesPerChunk))
        chunks = starts.map { tokens.sequences($0..<min(tokens.rows, $0 + sequencesPerChunk)) }
        chunkStarts = starts.map { $0 * tokens.length }
    }

    /// The forward pass at anchor + t·direction; `chunkLogits(i, logits)` receives chunk i's
    /// logits [chunks[i].tokens, vocabulary] as soon as they are computed.
    func evaluate(anchor a: UnsafePointer<Float>, direction v: UnsafePointer<Float>, t: Float,
                  window: RayWeightWindow, workspace w: TransformerWorkspace,
                  chunkLogits: (Int, UnsafePointer<Float>) -> Void) {
        let h = w.hidden.baseAddress!
        structure.embed(tokens, theta: a, direction: v, t: t, into: h)
        for (stage, block) in structure.blocks.enumerated() {
            window.load(stage: stage, anchor: a, direction: v, t: t)
            for (chunk, start) in zip(chunks, chunkStarts) {
                structure.run(block, chunk, hidden: h + start * structure.hidden, window, w)
            }
        }
        window.load(stage: structure.blocks.count, anchor: a, direction: v, t: t)
        for (i, (chunk, start)) in zip(chunks, chunkStarts).enumerated() {
            structure.output(chunk, hidden: h + start * structure.hidden, window, w)
            chunkLogits(i, w.logits.baseAddress!)
        }
    }
}
