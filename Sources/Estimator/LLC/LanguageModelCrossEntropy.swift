/// The mean next-token cross-entropy of a language model, with its gradient through
/// `TransformerBackwardPass` built at θ: in each row the logits at positions 0…T−2 predict the
/// tokens at 1…T−1, as devinterp's `lm_cross_entropy_loss` does; with an attention mask, a
/// position counts only when it and its target are both unmasked. The mean is over the counted
/// positions of the batch (equal to devinterp's mean over rows and positions without a mask).
struct LanguageModelCrossEntropy<Scalar: BLASScalar>: SGLDLoss {
    struct Batch: Sendable {
        let tokens: TokenContext
        /// The next token of each position, −1 where the position does not count; [rows·length].
        let targets: [Int]
        let counted: Int
    }

    let model: LanguageModel
    let tokens: TokenContext

    init(model: LanguageModel, tokens: TokenContext) throws(EstimatorError) {
        guard tokens.length >= 2 else {
            throw EstimatorError(code: "llc.sequence_length", "the LLC of a language model needs eval rows of at least 2 tokens; they have \(tokens.length)")
        }
        self.model = model
        self.tokens = tokens
    }

    var dimension: Int { model.layout.count }
    var rows: Int { tokens.rows }

    func batch(_ rows: [Int]) throws(EstimatorError) -> Batch {
        let length = tokens.length
        var ids: [Int] = [], mask: [Bool]? = tokens.mask.map { _ in [] }
        for r in rows {
            ids.append(contentsOf: tokens.ids[(r * length)..<((r + 1) * length)])
            if let m = tokens.mask { mask?.append(contentsOf: m[(r * length)..<((r + 1) * length)]) }
        }
        var targets = [Int](repeating: -1, count: ids.count)
        var counted = 0
        for b in 0..<rows.count {
            for t in 0..<(length - 1) {
                let i = b * length + t
                if let mask, !(mask[i] && mask[i + 1]) { continue }
                targets[i] = ids[i + 1]
                counted += 1
            }
        }
        guard counted > 0 else {
            throw EstimatorError(code: "llc.no_targets", "a mini-batch of rows \(rows) has no unmasked next-token position to measure")
        }
        return Batch(tokens: TokenContext(ids: ids, mask: mask, rows: rows.count, length: length, rotary: model.structure.rotary),
                     targets: targets, counted: counted)
    }

    /// What one chain keeps from step to step: the forward pass's buffers, the cotangents and
    /// the backward pass's δ buffers, so that a step allocates nothing.
    struct Workspace {
        fileprivate var activations: TransformerActivations<Scalar>?
        fileprivate var cotangents: [Scalar] = []
        fileprivate var scratch: TransformerBackwardPass<Scalar>.Scratch?
    }

    func makeWorkspace() -> Workspace { Workspace() }

    func lossAndGradient(at theta: [Scalar], batch: Batch, gradient: UnsafeMutablePointer<Scalar>) -> Double {
        var workspace = Workspace()
        return lossAndGradient(at: theta, batch: batch, workspace: &workspace, gradient: gradient)
    }

    func lossAndGradient(at theta: [Scalar], batch: Batch, workspace: inout Workspace,
                         gradient: UnsafeMutablePointer<Scalar>) -> Double {
        let pass: TransformerBackwardPass<Scalar>
        if let previous = workspace.activations.take() {
            pass = TransformerBackwardPass(model: model, tokens: batch.tokens, theta: theta, reusing: previous)
        } else {
            guard let built = try? TransformerBackwardPass<Scalar>(model: model, tokens: batch.tokens, theta: theta, anchor: false) else { return .nan }
            pass = built
        }
        defer { workspace.activations = pass.activations }
        let vocabulary = model.structure.vocabulary
        if workspace.cotangents.count != batch.targets.count * vocabulary {
            workspace.cotangents = [Scalar](repeating: 0, count: batch.targets.count * vocabulary)
        }
        let loss = pass.activations.logits.withUnsafeBufferPointer { logits in
            batch.targets.withUnsafeBufferPointer { targets in
                workspace.cotangents.withUnsafeMutableBufferPointer { g in
                    CrossEntropy.meanAndCotangents(logits: logits.baseAddress!, classes: vocabulary, targets: targets,
                                                   counted: batch.counted, cotangents: g.baseAddress!)
                }
            }
        }
        guard loss.isFinite else { return loss }
        gradient.update(repeating: 0, count: dimension)
        workspace.cotangents.withUnsafeBufferPointer {
            pass.pullbackSum(cotangents: $0.baseAddress!, into: gradient, scratch: &workspace.scratch)
        }
        return loss
    }
}
