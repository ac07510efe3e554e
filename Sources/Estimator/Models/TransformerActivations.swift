/// A transformer's forward pass over a token batch with every activation its backward pass
/// reads, in `Scalar` (`Float` for the curvature, `Double` for the finite-difference tests).
///
/// The same computation as `TransformerStructure.forward`, written with plain loops and
/// `Scalar.gemm` instead of the ray evaluator's vectorized kernels and shared scratch: it runs
/// once per checkpoint and must keep what that pass overwrites. Tests hold its float32 logits
/// to the model's own.
struct TransformerActivations<Scalar: BLASScalar> {
    /// A norm's input standardized, its scale and its output.
    struct Normalized {
        /// x̂ = (x − mean)·r (LayerNorm) or x·r (RMSNorm), [tokens, width].
        let standardized: [Scalar]
        /// r, [tokens].
        let inverseScale: [Scalar]
        /// x̂∘w (+ b): the next linear maps' input, [tokens, width].
        let output: [Scalar]
    }

    struct Block {
        let attentionNorm: Normalized
        let feedForwardNorm: Normalized
        /// Queries and keys (rotated) and values, [tokens, projectionWidth].
        let projection: [Scalar]
        /// Each head's softmax weights, [rows, heads, length, length].
        let probabilities: [Scalar]
        /// The heads' outputs side by side: the output map's input, [tokens, heads·headDimension].
        let attended: [Scalar]
        /// SwiGLU only: the up map's output u, [tokens, inner] (empty otherwise).
        let up: [Scalar]
        /// SwiGLU only: f(gate(x)), [tokens, inner] (empty otherwise).
        let gateActivated: [Scalar]
        /// f′ at the activation's input: up(x), or gate(x) for SwiGLU; [tokens, inner].
        let slope: [Scalar]
        /// The down map's input: f(up(x)), or f(gate(x))∘up(x); [tokens, inner].
        let activated: [Scalar]
    }

    let blocks: [Block]
    let finalNorm: Normalized
    /// [tokens, vocabulary].
    let logits: [Scalar]

    init(structure s: TransformerStructure, tokens: TokenContext, theta: UnsafePointer<Scalar>) {
        let n = tokens.tokens
        let width = s.hidden
        var hidden = [Scalar](repeating: 0, count: n * width)
        for (token, id) in tokens.ids.enumerated() {
            for j in 0..<width {
                var value = theta[s.tokenEmbedding.offset + id * width + j]
                if let positions = s.positionEmbedding {
                    value += theta[positions.offset + (token % tokens.length) * width + j]
                }
                hidden[token * width + j] = value
            }
        }
        var blocks: [Block] = []
        for block in s.blocks {
            let attentionNorm = block.attentionNorm.forward(hidden, rows: n, width: width, theta: theta)
            let parallelNorm = block.parallelResidual ? block.feedForwardNorm.forward(hidden, rows: n, width: width, theta: theta) : nil
            let attention = Self.attention(block.attention, input: attentionNorm.output, tokens: tokens, theta: theta, residual: &hidden)
            let feedForwardNorm = parallelNorm ?? block.feedForwardNorm.forward(hidden, rows: n, width: width, theta: theta)
            let feedForward = Self.feedForward(block.feedForward, input: feedForwardNorm.output, rows: n, theta: theta, residual: &hidden)
            blocks.append(Block(attentionNorm: attentionNorm, feedForwardNorm: feedForwardNorm,
                                projection: attention.projection, probabilities: attention.probabilities,
                                attended: attention.attended, up: feedForward.up, gateActivated: feedForward.gateActivated,
                                slope: feedForward.slope, activated: feedForward.activated))
        }
        self.blocks = blocks
        finalNorm = s.finalNorm.forward(hidden, rows: n, width: width, theta: theta)
        var logits = [Scalar](repeating: 0, count: n * s.vocabulary)
        Scalar.gemm(transA: false, transB: true, m: n, n: s.vocabulary, k: width, alpha: 1,
                    a: finalNorm.output, lda: width, b: theta + s.head.offset, ldb: width, beta: 0, c: &logits, ldc: s.vocabulary)
        self.logits = logits
    }

    /// residual += attention(input), keeping the projection, softmax weights and heads' outputs.
    private static func attention(_ a: TransformerStructure.Attention, input: [Scalar], tokens: TokenContext,
                                  theta: UnsafePointer<Scalar>, residual: inout [Scalar])
        -> (projection: [Scalar], probabilities: [Scalar], attended: [Scalar]) {
        let n = tokens.tokens
        let width = a.projectionWidth
        var projection = [Scalar](repeating: 0, count: n * width)
        var probabilities = [Scalar](repeating: 0, count: tokens.rows * a.heads * tokens.length * tokens.length)
        var attended = [Scalar](repeating: 0, count: n * a.heads * a.headDimension)
        input.withUnsafeBufferPointer { x in
            projection.withUnsafeMutableBufferPointer { p in
                let x = x.baseAddress!, p = p.baseAddress!
                switch a.projection {
                case .fused(let qkv):
                    qkv.forward(x, rows: n, theta: theta, into: p, ldy: width)
                case .separate(let q, let k, let v):
                    q.forward(x, rows: n, theta: theta, into: p + a.queryColumns[0], ldy: width)
                    k.forward(x, rows: n, theta: theta, into: p + a.keyColumns[0], ldy: width)
                    v.forward(x, rows: n, theta: theta, into: p + a.valueColumns[0], ldy: width)
                }
                probabilities.withUnsafeMutableBufferPointer { w in
                    attended.withUnsafeMutableBufferPointer { o in
                        a.forward(projection: p, tokens: tokens, probabilities: w.baseAddress!, into: o.baseAddress!)
                    }
                }
            }
        }
        attended.withUnsafeBufferPointer { o in
            residual.withUnsafeMutableBufferPointer { h in
                a.output.forward(o.baseAddress!, rows: n, theta: theta, into: h.baseAddress!, ldy: a.output.outputs, accumulate: true)
            }
        }
        return (projection, probabilities, attended)
    }

    /// residual += feedForward(input), keeping what its backward pass reads.
    private static func feedForward(_ f: TransformerStructure.FeedForward, input: [Scalar], rows n: Int,
                                    theta: UnsafePointer<Scalar>, residual: inout [Scalar])
        -> (up: [Scalar], gateActivated: [Scalar], slope: [Scalar], activated: [Scalar]) {
        let inner = f.up.outputs
        var up = [Scalar](repeating: 0, count: n * inner)
        f.up.forward(input, rows: n, theta: theta, into: &up, ldy: inner)
        var slope = [Scalar](repeating: 0, count: n * inner)
        var activated = [Scalar](repeating: 0, count: n * inner)
        var gateActivated: [Scalar] = []
        if let gate = f.gate {
            var g = [Scalar](repeating: 0, count: n * inner)
            gate.forward(input, rows: n, theta: theta, into: &g, ldy: inner)
            gateActivated = g
            for i in g.indices {
                (gateActivated[i], slope[i]) = f.activation.valueAndSlope(g[i])
                activated[i] = gateActivated[i] * up[i]
            }
        } else {
            for i in up.indices { (activated[i], slope[i]) = f.activation.valueAndSlope(up[i]) }
            up = []
        }
        activated.withUnsafeBufferPointer { m in
            residual.withUnsafeMutableBufferPointer { h in
                f.down.forward(m.baseAddress!, rows: n, theta: theta, into: h.baseAddress!, ldy: f.down.outputs, accumulate: true)
            }
        }
        return (up, gateActivated, slope, activated)
    }
}
