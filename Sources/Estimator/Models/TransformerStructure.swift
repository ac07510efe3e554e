/// How a decoder-only transformer language model is wired, with every weight as a `Parameter`
/// of the flat layout. GPT-NeoX, GPT-2 and Llama are all described by this one structure; they
/// differ in norms, residual wiring, the query/key/value projection, position encoding and MLP.
struct TransformerStructure: Sendable {
    /// An affine map y = x·Wᵀ + b (weight stored [out, in], `torch.nn.Linear`) or y = x·W + b
    /// (weight stored [in, out], GPT-2's `Conv1D`).
    struct Linear: Sendable {
        let weight: Parameter
        let bias: Parameter?
        let inputs: Int
        let outputs: Int
        /// True for GPT-2's `Conv1D`, whose weight is stored [in, out].
        let inputMajor: Bool
    }

    struct Norm: Sendable {
        enum Kind: Sendable {
            /// (x − mean)/√(var + eps)·w + b.
            case layerNorm
            /// x/√(mean(x²) + eps)·w (Llama's RMSNorm; no bias).
            case rms
        }
        let kind: Kind
        let weight: Parameter
        let bias: Parameter?
        let epsilon: Float
    }

    /// Multi-head causal self-attention. The projection writes queries, keys and values into one
    /// [tokens, projectionWidth] buffer; the offsets say where each head's columns are.
    struct Attention: Sendable {
        enum Projection: Sendable {
            /// One fused linear map (GPT-NeoX `query_key_value`, GPT-2 `c_attn`).
            case fused(Linear)
            /// Separate q, k, v maps written side by side: [q | k | v] (Llama).
            case separate(query: Linear, key: Linear, value: Linear)
        }
        let projection: Projection
        let output: Linear
        let heads: Int
        /// Key/value heads: query head h reads key/value head h / (heads / keyValueHeads).
        let keyValueHeads: Int
        let headDimension: Int
        /// Columns of each query head (`heads` entries) and key/value head (`keyValueHeads`).
        let queryColumns: [Int]
        let keyColumns: [Int]
        let valueColumns: [Int]
        let scale: Float

        var projectionWidth: Int { (heads + 2 * keyValueHeads) * headDimension }
    }

    struct FeedForward: Sendable {
        let up: Linear
        /// Llama's SwiGLU: down(act(gate(x)) ⊙ up(x)); nil for the plain down(act(up(x))).
        let gate: Linear?
        let down: Linear
        let activation: Activation
    }

    struct Block: Sendable {
        let attentionNorm: Norm
        let feedForwardNorm: Norm
        let attention: Attention
        let feedForward: FeedForward
        /// GPT-NeoX's parallel residual: h + attn(ln₁(h)) + mlp(ln₂(h)); otherwise
        /// h' = h + attn(ln₁(h)), then h' + mlp(ln₂(h')).
        let parallelResidual: Bool
    }

    let vocabulary: Int
    let hidden: Int
    /// [vocabulary, hidden]; gathered by token id.
    let tokenEmbedding: Parameter
    /// Learned absolute positions [maxPositions, hidden] (GPT-2), added to the token embedding.
    let positionEmbedding: Parameter?
    let rotary: RotaryEmbedding?
    let blocks: [Block]
    let finalNorm: Norm
    /// The output head [vocabulary, hidden], no bias; the token embedding itself when tied.
    let head: Parameter

    /// The longest sequence the model can take: the learned position table's length, else
    /// unbounded (rotary positions extend, as in transformers).
    var maxPositions: Int? { positionEmbedding?.shape[0] }

    var widestFeedForward: Int { blocks.map(\.feedForward.up.outputs).max() ?? 0 }
    var widestProjection: Int { blocks.map(\.attention.projectionWidth).max() ?? 0 }
    var widestAttentionOutput: Int { blocks.map { $0.attention.heads * $0.attention.headDimension }.max() ?? 0 }
    var hasGatedFeedForward: Bool { blocks.contains { $0.feedForward.gate != nil } }

    /// Floating-point operations of one forward pass over `rows` sequences of `length` tokens:
    /// 2·m·n·k per matrix product, and causal attention counted for the key positions each query
    /// sees (length·(length+1)/2 query–key pairs per head, for scores and for values).
    func flops(rows: Int, length: Int) -> Int {
        let tokens = rows * length
        var total = 0
        func linear(_ l: Linear) { total += 2 * tokens * l.inputs * l.outputs }
        for block in blocks {
            switch block.attention.projection {
            case .fused(let l): linear(l)
            case .separate(let q, let k, let v): linear(q); linear(k); linear(v)
            }
            linear(block.attention.output)
            let pairs = rows * length * (length + 1) / 2
            total += 2 * 2 * pairs * block.attention.heads * block.attention.headDimension
            linear(block.feedForward.up)
            if let gate = block.feedForward.gate { linear(gate) }
            linear(block.feedForward.down)
        }
        total += 2 * tokens * hidden * vocabulary
        return total
    }
}
