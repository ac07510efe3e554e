/// What one KL evaluation of a language model on its eval batch costs, and the memory an
/// estimate holds for it besides θ0, the preconditioner and each worker's direction.
public struct LanguageModelFootprint: Sendable, Equatable {
    /// Floating-point operations of one evaluation: 2·m·n·k per matrix product plus causal attention.
    public let flopsPerEvaluation: Int
    /// Bytes of one worker's evaluator: the residual stream, one chunk's activations and KL
    /// scratch, and one stage of perturbed weights.
    public let evaluatorBytes: Int
    /// Bytes of the anchor's cached distribution, shared by the workers.
    public let anchorDistributionBytes: Int
    /// Bytes a forward pass over the whole eval batch at once would hold (what chunking avoids).
    public let batchActivationBytes: Int
}

extension LanguageModelObjective {
    var footprint: LanguageModelFootprint {
        let structure = model.structure
        return LanguageModelFootprint(
            flopsPerEvaluation: flopsPerEvaluation,
            evaluatorBytes: LanguageModelRayEvaluator(self, lanes: 1).byteCount,
            anchorDistributionBytes: anchorDistribution.byteCount,
            batchActivationBytes: TransformerWorkspace.byteCount(structure: structure, residualTokens: tokens.tokens,
                                                                 tokens: tokens.tokens, length: tokens.length)
                + KLWorkspace(rows: tokens.tokens, classes: structure.vocabulary).byteCount)
    }
}

extension CheckpointEstimation {
    /// The footprint of this checkpoint's KL cost; nil unless the model is a language model.
    public var languageModelFootprint: LanguageModelFootprint? {
        (objective as? LanguageModelObjective)?.footprint
    }
}
