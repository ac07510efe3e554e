/// A decoder-only transformer language model (GPT-NeoX/Pythia, GPT-2, Llama) at its anchor θ0.
/// Its KL cost is averaged over every unmasked token position of the eval rows, each position's
/// next-token distribution over the whole vocabulary.
public struct LanguageModel: Model {
    /// `gpt_neox`, `gpt2`, `llama` (the config's `model_type`).
    public let architecture: String
    public let layout: ParameterLayout
    public let anchor: [Float]
    let structure: TransformerStructure

    init(architecture: String, layout: ParameterLayout, anchor: [Float], structure: TransformerStructure) {
        self.architecture = architecture
        self.layout = layout
        self.anchor = anchor
        self.structure = structure
    }

    public var vocabularySize: Int { structure.vocabulary }
    /// The longest eval row the model takes (GPT-2's `n_positions`); nil when positions are
    /// rotary and unbounded.
    public var maxPositions: Int? { structure.maxPositions }

    /// Floating-point operations of one forward pass over `rows` sequences of `length` tokens.
    public func flopsPerForwardPass(rows: Int, length: Int) -> Int {
        structure.flops(rows: rows, length: length)
    }

    /// Logits [N·T·vocabulary] (row-major [N, T, vocabulary]) for token ids [N, T] at parameters
    /// `theta` (flat, `layout` order); `mask` [N, T] of 0/1 hides padded keys from attention.
    public func logits(ids: Tensor<Int32>, mask: Tensor<Int32>? = nil, theta: [Float]) throws(EstimatorError) -> [Float] {
        precondition(theta.count == layout.count, "theta has \(theta.count) values; the layout has \(layout.count)")
        let tokens = try tokenContext(ids: ids, mask: mask)
        let workspace = TransformerWorkspace(structure: structure, tokens: tokens)
        theta.withUnsafeBufferPointer { th in
            structure.embed(tokens, theta: th.baseAddress!, into: workspace.hidden.baseAddress!)
            structure.forward(tokens, theta: th.baseAddress!, workspace: workspace)
        }
        return Array(workspace.logits)
    }

    public func klObjective(data: EvalData) throws(EstimatorError) -> any KLObjective {
        try LanguageModelObjective(model: self, tokens: try tokenContext(data))
    }

    public func lossObjective(data: EvalData, labels: [Int]?) throws(EstimatorError) -> any KLObjective {
        let tokens = try tokenContext(data)
        return try LanguageModelObjective(model: self, tokens: tokens,
                                          loss: try AnchorLoss.nextTokens(tokens, vocabulary: structure.vocabulary))
    }

    /// The eval data's tokens, checked against the model.
    func tokenContext(_ data: EvalData) throws(EstimatorError) -> TokenContext {
        guard case .tokens(let ids, let mask) = data else {
            throw EstimatorError(code: "eval.kind", "a language model (\(architecture)) needs eval data with 'input_ids' [N, T], not 'inputs' features")
        }
        return try tokenContext(ids: ids, mask: mask)
    }

    /// Checks the eval tokens against the model: ids inside the vocabulary, rows no longer than
    /// the position table, a mask of the same shape.
    func tokenContext(ids: Tensor<Int32>, mask: Tensor<Int32>?) throws(EstimatorError) -> TokenContext {
        guard ids.rank == 2, ids.shape[0] >= 1, ids.shape[1] >= 1 else {
            throw EstimatorError(code: "eval.shape", "'input_ids' has shape \(ids.shape); expected [N, T] with N, T ≥ 1")
        }
        let (rows, length) = (ids.shape[0], ids.shape[1])
        if let maxPositions, length > maxPositions {
            throw EstimatorError(code: "eval.sequence_length",
                             "eval rows have \(length) tokens; this \(architecture) model takes at most \(maxPositions) (n_positions)")
        }
        if let bad = ids.scalars.firstIndex(where: { $0 < 0 || Int($0) >= structure.vocabulary }) {
            throw EstimatorError(code: "eval.token_id",
                             "'input_ids' has token id \(ids.scalars[bad]) at row \(bad / length), position \(bad % length); the vocabulary has \(structure.vocabulary) tokens (0…\(structure.vocabulary - 1))")
        }
        if let mask {
            guard mask.shape == ids.shape else {
                throw EstimatorError(code: "eval.shape", "'attention_mask' has shape \(mask.shape) but 'input_ids' has \(ids.shape)")
            }
            guard mask.scalars.contains(where: { $0 != 0 }) else {
                throw EstimatorError(code: "eval.mask", "'attention_mask' masks every position; nothing would be measured")
            }
        }
        return TokenContext(ids: ids.scalars.map { Int($0) }, mask: mask.map { $0.scalars.map { $0 != 0 } },
                            rows: rows, length: length, rotary: structure.rotary)
    }
}
