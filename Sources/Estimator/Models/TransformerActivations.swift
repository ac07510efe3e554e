/// A transformer's forward pass over a token batch with every activation its backward pass
/// reads, in `Scalar` (`Float` for the curvature, `Double` for the finite-difference tests).
///
/// The same computation as `TransformerStructure.forward`, written with plain loops and
/// `Scalar.gemm` instead of the ray evaluator's vectorized kernels and shared scratch: it must
/// keep what that pass overwrites. Tests hold its float32 logits to the model's own. The LLC's
/// sampler recomputes one in place at every step (`recompute`), reusing its buffers.
struct TransformerActivations<Scalar: BLASScalar> {
    /// A norm's input standardized, its scale and its output.
    struct Normalized {
        /// x̂ = (x − mean)·r (LayerNorm) or x·r (RMSNorm), [tokens, width].
        var standardized: [Scalar] = []
        /// r, [tokens].
        var inverseScale: [Scalar] = []
        /// x̂∘w (+ b): the next linear maps' input, [tokens, width].
        var output: [Scalar] = []
    }

    struct Block {
        var attentionNorm = Normalized()
        var feedForwardNorm = Normalized()
        /// Queries and keys (rotated) and values, [tokens, projectionWidth].
        var projection: [Scalar] = []
        /// Each head's softmax weights, [rows, heads, length, length].
        var probabilities: [Scalar] = []
        /// The heads' outputs side by side: the output map's input, [tokens, heads·headDimension].
        var attended: [Scalar] = []
        /// SwiGLU only: the up map's output u, [tokens, inner] (empty otherwise).
        var up: [Scalar] = []
        /// SwiGLU only: f(gate(x)), [tokens, inner] (empty otherwise).
        var gateActivated: [Scalar] = []
        /// f′ at the activation's input: up(x), or gate(x) for SwiGLU; [tokens, inner].
        var slope: [Scalar] = []
        /// The down map's input: f(up(x)), or f(gate(x))∘up(x); [tokens, inner].
        var activated: [Scalar] = []
    }

    private(set) var blocks: [Block] = []
    private(set) var finalNorm = Normalized()
    /// [tokens, vocabulary].
    private(set) var logits: [Scalar] = []
    /// The residual stream, [tokens, hidden] (scratch).
    private var hidden: [Scalar] = []

    init(structure s: TransformerStructure, tokens: TokenContext, theta: UnsafePointer<Scalar>) {
        recompute(structure: s, tokens: tokens, theta: theta)
    }

    /// Sets `array` to `count` elements (contents unspecified) without reallocating when it
    /// already has that many.
    @inline(__always)
    private static func size(_ array: inout [Scalar], _ count: Int) {
        if array.count != count { array = [Scalar](repeating: 0, count: count) }
    }

    /// The forward pass at `theta` on `tokens`, written over this one's buffers.
    mutating func recompute(structure s: TransformerStructure, tokens: TokenContext, theta: UnsafePointer<Scalar>) {
        let n = tokens.tokens
        let width = s.hidden
        Self.size(&hidden, n * width)
        hidden.withUnsafeMutableBufferPointer { hidden in
            for (token, id) in tokens.ids.enumerated() {
                let row = hidden.baseAddress! + token * width
                let embedding = theta + s.tokenEmbedding.offset + id * width
                if let positions = s.positionEmbedding {
                    let position = theta + positions.offset + (token % tokens.length) * width
                    for j in 0..<width { row[j] = embedding[j] + position[j] }
                } else {
                    for j in 0..<width { row[j] = embedding[j] }
                }
            }
        }
        if blocks.count != s.blocks.count { blocks = Array(repeating: Block(), count: s.blocks.count) }
        for (index, block) in s.blocks.enumerated() {
            block.attentionNorm.forward(hidden, rows: n, width: width, theta: theta, into: &blocks[index].attentionNorm)
            if block.parallelResidual {
                block.feedForwardNorm.forward(hidden, rows: n, width: width, theta: theta, into: &blocks[index].feedForwardNorm)
            }
            Self.attention(block.attention, tokens: tokens, theta: theta, block: &blocks[index], residual: &hidden)
            if !block.parallelResidual {
                block.feedForwardNorm.forward(hidden, rows: n, width: width, theta: theta, into: &blocks[index].feedForwardNorm)
            }
            Self.feedForward(block.feedForward, rows: n, theta: theta, block: &blocks[index], residual: &hidden)
        }
        s.finalNorm.forward(hidden, rows: n, width: width, theta: theta, into: &finalNorm)
        Self.size(&logits, n * s.vocabulary)
        Scalar.gemm(transA: false, transB: true, m: n, n: s.vocabulary, k: width, alpha: 1,
                    a: finalNorm.output, lda: width, b: theta + s.head.offset, ldb: width, beta: 0, c: &logits, ldc: s.vocabulary)
    }

    /// residual += attention(block's attention norm output), keeping the projection, softmax
    /// weights and heads' outputs in `block`.
    private static func attention(_ a: TransformerStructure.Attention, tokens: TokenContext,
                                  theta: UnsafePointer<Scalar>, block: inout Block, residual: inout [Scalar]) {
        let n = tokens.tokens
        let width = a.projectionWidth
        size(&block.projection, n * width)
        size(&block.probabilities, tokens.rows * a.heads * tokens.length * tokens.length)
        size(&block.attended, n * a.heads * a.headDimension)
        block.attentionNorm.output.withUnsafeBufferPointer { x in
            block.projection.withUnsafeMutableBufferPointer { p in
                let x = x.baseAddress!, p = p.baseAddress!
                switch a.projection {
                case .fused(let qkv):
                    qkv.forward(x, rows: n, theta: theta, into: p, ldy: width)
                case .separate(let q, let k, let v):
                    q.forward(x, rows: n, theta: theta, into: p + a.queryColumns[0], ldy: width)
                    k.forward(x, rows: n, theta: theta, into: p + a.keyColumns[0], ldy: width)
                    v.forward(x, rows: n, theta: theta, into: p + a.valueColumns[0], ldy: width)
                }
                block.probabilities.withUnsafeMutableBufferPointer { w in
                    block.attended.withUnsafeMutableBufferPointer { o in
                        a.forward(projection: p, tokens: tokens, probabilities: w.baseAddress!, into: o.baseAddress!)
                    }
                }
            }
        }
        block.attended.withUnsafeBufferPointer { o in
            residual.withUnsafeMutableBufferPointer { h in
                a.output.forward(o.baseAddress!, rows: n, theta: theta, into: h.baseAddress!, ldy: a.output.outputs, accumulate: true)
            }
        }
    }

    /// residual += feedForward(block's feed-forward norm output), keeping what its backward
    /// pass reads in `block`.
    private static func feedForward(_ f: TransformerStructure.FeedForward, rows n: Int, theta: UnsafePointer<Scalar>,
                                    block: inout Block, residual: inout [Scalar]) {
        let inner = f.up.outputs
        let count = n * inner
        size(&block.up, count)
        size(&block.slope, count)
        size(&block.activated, count)
        f.up.forward(block.feedForwardNorm.output, rows: n, theta: theta, into: &block.up, ldy: inner)
        if let gate = f.gate {
            size(&block.gateActivated, count)
            // f(g) is computed in place over g.
            gate.forward(block.feedForwardNorm.output, rows: n, theta: theta, into: &block.gateActivated, ldy: inner)
            block.gateActivated.withUnsafeMutableBufferPointer { g in
                block.slope.withUnsafeMutableBufferPointer { slope in
                    block.activated.withUnsafeMutableBufferPointer { m in
                        block.up.withUnsafeBufferPointer { u in
                            for i in 0..<count {
                                (g[i], slope[i]) = f.activation.valueAndSlope(g[i])
                                m[i] = g[i] * u[i]
                            }
                        }
                    }
                }
            }
        } else {
            block.up.withUnsafeBufferPointer { u in
                block.slope.withUnsafeMutableBufferPointer { slope in
                    block.activated.withUnsafeMutableBufferPointer { m in
                        if Scalar.self == Float.self, f.activation == .gelu {
                            FastGELU.valueAndSlope(UnsafeRawPointer(u.baseAddress!).assumingMemoryBound(to: Float.self),
                                                   value: UnsafeMutableRawPointer(m.baseAddress!).assumingMemoryBound(to: Float.self),
                                                   slope: UnsafeMutableRawPointer(slope.baseAddress!).assumingMemoryBound(to: Float.self),
                                                   count: count)
                        } else {
                            for i in 0..<count { (m[i], slope[i]) = f.activation.valueAndSlope(u[i]) }
                        }
                    }
                }
            }
        }
        block.activated.withUnsafeBufferPointer { m in
            residual.withUnsafeMutableBufferPointer { h in
                f.down.forward(m.baseAddress!, rows: n, theta: theta, into: h.baseAddress!, ldy: f.down.outputs, accumulate: true)
            }
        }
    }
}
