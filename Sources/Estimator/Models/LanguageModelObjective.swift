/// KL cost of a language model on a fixed token batch: mean over unmasked positions of
/// KL(p_θ0 ‖ p_θ) over the vocabulary; or its loss cost, the increase of the mean next-token
/// cross-entropy over the anchor's, floored at 0 (`AnchorLoss`).
///
/// An evaluation at θ0 + t·v̂ embeds the batch (the lookup is linear in t, so it reads θ0 and the
/// direction's rows of the tokens used), then runs stage by stage — each block, then the final
/// norm and head — with that stage's perturbed weights written once into a `RayWeightWindow` and
/// applied to the batch in chunks of whole sequences (attention never crosses sequences). A
/// worker so holds one stage of perturbed weights and one chunk of activations per lane besides
/// the residual stream, not a perturbed copy of θ and the whole batch's activations; a streamed
/// direction is regenerated block by block as the window is written, never held whole.
///
/// An evaluation's lanes (threads) share its window — each writes pieces of it — and its chunks,
/// each lane with its own chunk buffers; the chunks' KL sums are added in chunk order, so the
/// result is the same bit for bit for any number of lanes.
final class LanguageModelObjective: KLObjective {
    let model: LanguageModel
    let tokens: TokenContext
    let pass: ChunkedForwardPass
    let cost: NeighbourhoodCost

    /// A chunk's activation buffers stay within this many bytes when one sequence allows: with a
    /// stage's weights they stay in a core's L2 cache.
    static let chunkByteTarget = 256 << 10

    /// `lanes` threads run the anchor's forward pass, whose logits become the anchor distribution
    /// chunk by chunk. Chunks hold `sequencesPerChunk` sequences (by default as many as fit
    /// `chunkByteTarget`). With `loss` (its targets, the anchor's loss not yet set) the cost is
    /// the loss's, whose anchor value that pass gives instead.
    init(model: LanguageModel, tokens: TokenContext, loss: AnchorLoss? = nil, lanes: Int = WorkerPool.coreCount,
         sequencesPerChunk: Int? = nil) throws(EstimatorError) {
        self.model = model
        self.tokens = tokens
        let structure = model.structure
        let pass = ChunkedForwardPass(structure: structure, tokens: tokens,
                                      sequencesPerChunk: sequencesPerChunk ?? Self.sequencesPerChunk(structure, tokens))
        self.pass = pass
        // The anchor's logits come from the evaluators' own code path at t = 0, so that its cost
        // is exactly 0; each chunk's go straight into the distribution or the loss's sum.
        let state = ForwardState(pass, lanes: lanes)
        if var loss {
            let sums = UnsafeMutableBufferPointer<Double>.allocate(capacity: pass.chunks.count)
            defer { sums.deallocate() }
            let chunkSums = SendableBuffer(sums)
            let targets = loss
            model.anchor.withUnsafeBufferPointer { a in
                pass.evaluate(anchor: a.baseAddress!, direction: nil, t: 0, state: state) { lane, chunk, logits in
                    let start = pass.chunkStarts[chunk]
                    chunkSums.buffer[chunk] = targets.crossEntropySum(logits: logits, rows: start..<(start + pass.chunks[chunk].tokens),
                                                                      workspace: state.klWorkspaces[lane])
                }
            }
            try loss.setAnchor(total: sums.reduce(0, +))
            cost = .loss(loss)
            return
        }
        cost = .kl(try AnchorDistribution(rows: tokens.tokens, classes: structure.vocabulary,
                                          included: tokens.included) { store in
            model.anchor.withUnsafeBufferPointer { a in
                pass.evaluate(anchor: a.baseAddress!, direction: nil, t: 0, state: state) { lane, chunk, logits in
                    let start = pass.chunkStarts[chunk]
                    store(start..<(start + pass.chunks[chunk].tokens), logits, state.klWorkspaces[lane])
                }
            }
        })
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
    var positions: Int { cost.positions }

    func makeEvaluator() -> any RayEvaluator { LanguageModelRayEvaluator(self, lanes: 1) }

    func makeEvaluator(lanes: Int) -> any RayEvaluator { LanguageModelRayEvaluator(self, lanes: lanes) }

    /// One evaluation's floating-point operations (matrix products and attention).
    var flopsPerEvaluation: Int { model.structure.flops(rows: tokens.rows, length: tokens.length) }
}

final class LanguageModelRayEvaluator: RayEvaluator, @unchecked Sendable {
    private let objective: LanguageModelObjective
    private let state: ForwardState
    /// Each chunk's KL sum of the current evaluation, added in chunk order.
    private let chunkSums: UnsafeMutableBufferPointer<Double>
    private var direction: RayDirection?

    init(_ objective: LanguageModelObjective, lanes: Int) {
        self.objective = objective
        state = ForwardState(objective.pass, lanes: lanes)
        chunkSums = .allocate(capacity: objective.pass.chunks.count)
    }

    deinit { chunkSums.deallocate() }

    var lanes: Int { state.lanes }

    /// Bytes of this evaluator's buffers: the residual stream, one stage of perturbed weights, and
    /// per lane one chunk's activations and KL scratch.
    var byteCount: Int { state.byteCount }

    func setDirection(_ direction: RayDirection) {
        precondition(direction.dimension == objective.dimension)
        self.direction = direction
    }

    func cost(at t: Double) -> Double {
        guard let direction else { preconditionFailure("setDirection before cost") }
        let timings = state.workspaces[0].timings
        let started = timings.map { _ in ContinuousClock.now }
        defer { if let started { timings?.addEvaluation(since: started, lanes: state.lanes) } }
        let cost = objective.cost
        let pass = objective.pass
        let state = self.state
        let sums = SendableBuffer(chunkSums)
        objective.model.anchor.withUnsafeBufferPointer { a in
            pass.evaluate(anchor: a.baseAddress!, direction: direction, t: Float(t), state: state) { lane, chunk, logits in
                let start = pass.chunkStarts[chunk]
                state.workspaces[lane].timed(.softmaxKL) {
                    sums.buffer[chunk] = cost.sum(logits: logits, rows: start..<(start + pass.chunks[chunk].tokens),
                                                  workspace: state.klWorkspaces[lane])
                }
            }
        }
        var total = 0.0
        for sum in chunkSums { total += sum }
        return cost.cost(total: total)
    }
}

/// What one forward pass along a ray writes: the residual stream of the whole batch, one stage's
/// window, and per lane one chunk's activations and KL scratch.
final class ForwardState: @unchecked Sendable {
    let lanes: Int
    let residual: UnsafeMutableBufferPointer<Float>
    let window: RayWeightWindow
    let workspaces: [TransformerWorkspace]
    let klWorkspaces: [KLWorkspace]

    init(_ pass: ChunkedForwardPass, lanes: Int) {
        let structure = pass.structure
        self.lanes = Self.lanes(pass, lanes)
        residual = .allocate(capacity: pass.tokens.tokens * structure.hidden)
        window = RayWeightWindow(stages: structure.stages)
        let widest = pass.chunks[0]
        workspaces = (0..<self.lanes).map { _ in
            TransformerWorkspace(structure: structure, residualTokens: 0, tokens: widest)
        }
        klWorkspaces = (0..<self.lanes).map { _ in KLWorkspace(rows: widest.tokens, classes: structure.vocabulary) }
    }

    deinit { residual.deallocate() }

    /// More lanes than chunks would only wait on the window.
    static func lanes(_ pass: ChunkedForwardPass, _ lanes: Int) -> Int { max(1, min(lanes, pass.chunks.count)) }

    /// The bytes a state for `pass` on `lanes` lanes holds, without allocating it.
    static func byteCount(_ pass: ChunkedForwardPass, lanes: Int) -> Int {
        let structure = pass.structure, widest = pass.chunks[0]
        let float = MemoryLayout<Float>.stride
        return pass.tokens.tokens * structure.hidden * float
            + RayWeightWindow.widestStage(structure.stages) * float
            + Self.lanes(pass, lanes) * (TransformerWorkspace.byteCount(structure: structure, residualTokens: 0,
                                                                       tokens: widest.tokens, length: widest.length)
                                         + KLWorkspace.byteCount(rows: widest.tokens, classes: structure.vocabulary))
    }

    var byteCount: Int {
        residual.count * MemoryLayout<Float>.stride + window.byteCount
            + workspaces.reduce(0) { $0 + $1.byteCount } + klWorkspaces.reduce(0) { $0 + $1.byteCount }
    }
}

/// A forward pass over a token batch along a ray, stage by stage and chunk by chunk (see
/// `LanguageModelObjective`).
struct ChunkedForwardPass: Sendable {
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

    /// The forward pass at anchor + t·direction (the anchor itself without a direction), on
    /// `state.lanes` threads; `chunkLogits(lane, i, logits)` receives chunk i's logits
    /// [chunks[i].tokens, vocabulary] on the lane that computed them, as soon as they are.
    func evaluate(anchor a: UnsafePointer<Float>, direction: RayDirection?, t: Float, state: ForwardState,
                  chunkLogits: @Sendable (Int, Int, UnsafePointer<Float>) -> Void) {
        let anchor = SendableAddress(a)
        let residual = SendableBuffer(state.residual)
        let lanes = state.lanes
        // The residual stream of chunk i.
        let hidden = { @Sendable (i: Int) in residual.buffer.baseAddress! + chunkStarts[i] * structure.hidden }
        WorkerPool.run(threads: lanes, count: chunks.count) { _, i in
            structure.embed(chunks[i], theta: anchor.pointer, direction: direction, t: t, into: hidden(i))
        }
        for (stage, block) in structure.blocks.enumerated() {
            state.window.load(stage: stage, anchor: a, direction: direction, t: t, lanes: lanes)
            WorkerPool.run(threads: lanes, count: chunks.count) { lane, i in
                structure.run(block, chunks[i], hidden: hidden(i), state.window, state.workspaces[lane])
            }
        }
        state.window.load(stage: structure.blocks.count, anchor: a, direction: direction, t: t, lanes: lanes)
        WorkerPool.run(threads: lanes, count: chunks.count) { lane, i in
            let workspace = state.workspaces[lane]
            structure.output(chunks[i], hidden: hidden(i), state.window, workspace)
            chunkLogits(lane, i, workspace.logits.baseAddress!)
        }
    }
}
