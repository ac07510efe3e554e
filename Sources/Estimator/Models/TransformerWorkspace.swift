/// The activation buffers of a forward pass, allocated once, so an evaluation allocates nothing.
/// The residual stream holds the whole batch; the other buffers hold the whole batch or, for a
/// lane of a ray evaluator, one chunk of its sequences at a time.
///
/// Buffers that are never live at the same time share one scratch allocation: queries/keys/values
/// and the heads' outputs (attention), the feed-forward units, and the output logits.
final class TransformerWorkspace: @unchecked Sendable {
    /// The residual stream [all tokens, hidden]; the caller writes the embedded tokens here.
    let hidden: UnsafeMutableBufferPointer<Float>
    /// Normalized inputs of attention / feed-forward [tokens, hidden] (two for the parallel residual).
    let normed: UnsafeMutableBufferPointer<Float>
    let normedSecond: UnsafeMutableBufferPointer<Float>
    /// One head's attention weights [length, length rounded up to 8].
    let scores: UnsafeMutableBufferPointer<Float>
    /// Each query's softmax normalization [length].
    let normalization: UnsafeMutableBufferPointer<Float>
    /// One key head transposed [head size, length].
    let keysTransposed: UnsafeMutableBufferPointer<Float>
    private let scratch: UnsafeMutableBufferPointer<Float>
    /// Queries, keys and values [tokens, projection width] (in `scratch`).
    let projection: UnsafeMutablePointer<Float>
    /// Attention heads' outputs [tokens, heads·head size] (in `scratch`, after `projection`).
    let attended: UnsafeMutablePointer<Float>
    /// Feed-forward units [tokens, intermediate], and the gate's for SwiGLU (in `scratch`).
    let inner: UnsafeMutablePointer<Float>
    let gate: UnsafeMutablePointer<Float>
    /// Output logits [tokens, vocabulary] (in `scratch`).
    let logits: UnsafeMutableBufferPointer<Float>
    /// Where the forward pass's time goes, when a benchmark collects it (`ForwardTimings`).
    let timings = ForwardTimings.current

    /// Buffers for a forward pass over all of `tokens` at once.
    convenience init(structure: TransformerStructure, tokens: TokenContext) {
        self.init(structure: structure, residualTokens: tokens.tokens, tokens: tokens)
    }

    /// A residual stream of `residualTokens` tokens (none for a lane of a ray evaluator, which
    /// shares its evaluator's) and every other buffer for `tokens` (one chunk of the batch).
    init(structure s: TransformerStructure, residualTokens: Int, tokens: TokenContext) {
        let n = tokens.tokens
        let sizes = Self.sizes(s, tokens: n, length: tokens.length)
        hidden = .allocate(capacity: residualTokens * s.hidden)
        normed = .allocate(capacity: sizes.hidden)
        normedSecond = .allocate(capacity: sizes.normedSecond)
        scores = .allocate(capacity: sizes.scores)
        normalization = .allocate(capacity: sizes.normalization)
        keysTransposed = .allocate(capacity: sizes.keysTransposed)
        scratch = .allocate(capacity: sizes.scratch)
        let base = scratch.baseAddress!
        projection = base
        attended = base + n * s.widestProjection
        inner = base
        gate = base + n * s.widestFeedForward
        logits = UnsafeMutableBufferPointer(start: base, count: n * s.vocabulary)
    }

    deinit {
        for buffer in [hidden, normed, normedSecond, scores, normalization, keysTransposed, scratch] { buffer.deallocate() }
    }

    /// Floats of each buffer for `tokens` tokens in sequences of `length`.
    private static func sizes(_ s: TransformerStructure, tokens n: Int, length: Int)
        -> (hidden: Int, normedSecond: Int, scores: Int, normalization: Int, keysTransposed: Int, scratch: Int) {
        let attentionWidth = s.widestProjection + s.widestAttentionOutput
        let feedForwardWidth = s.widestFeedForward * (s.hasGatedFeedForward ? 2 : 1)
        return (hidden: n * s.hidden,
                normedSecond: s.blocks.contains(where: \.parallelResidual) ? n * s.hidden : 0,
                scores: length * TransformerStructure.Attention.scoresStride(length: length),
                normalization: length,
                keysTransposed: length * (s.blocks.map(\.attention.headDimension).max() ?? 0),
                scratch: n * max(attentionWidth, feedForwardWidth, s.vocabulary))
    }

    /// Bytes the buffers take for a residual stream of `residualTokens` tokens and the other
    /// buffers for `tokens` tokens, in sequences of `length`.
    static func byteCount(structure: TransformerStructure, residualTokens: Int, tokens: Int, length: Int) -> Int {
        let z = sizes(structure, tokens: tokens, length: length)
        return (residualTokens * structure.hidden + z.hidden + z.normedSecond + z.scores + z.normalization
                + z.keysTransposed + z.scratch) * MemoryLayout<Float>.stride
    }

    /// Bytes held by the buffers.
    var byteCount: Int {
        [hidden, normed, normedSecond, scores, normalization, keysTransposed, scratch].reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride
    }
}

extension TransformerStructure {
    /// Writes the embedded tokens E[id] (+ P[position]) into `hidden` [tokens, hidden], reading
    /// the tables from `theta` — or, given a `direction`, from θ + t·v̂, which along a ray is all
    /// the embedding needs: the lookup is linear in t, and only the rows of the tokens used are
    /// read (a streamed direction regenerates just those).
    func embed(_ tokens: TokenContext, theta: UnsafePointer<Float>, direction: RayDirection? = nil, t: Float = 0,
               into hidden: UnsafeMutablePointer<Float>) {
        let width = self.hidden
        for (token, id) in tokens.ids.enumerated() {
            let out = hidden + token * width
            let row = tokenEmbedding.offset + id * width
            if let direction {
                direction.perturbed(row..<(row + width), anchor: theta + row, t: t, into: out)
            } else {
                out.update(from: theta + row, count: width)
            }
            if let positionEmbedding {
                let position = positionEmbedding.offset + (token % tokens.length) * width
                let p = theta + position
                if let direction {
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: width) { v in
                        direction.fill(position..<(position + width), into: v.baseAddress!)
                        for j in 0..<width { out[j] += p[j] + t * v[j] }
                    }
                } else {
                    for j in 0..<width { out[j] += p[j] }
                }
            }
        }
    }

    /// From the embedded tokens in `workspace.hidden` to `workspace.logits`, at parameters `theta`.
    func forward(_ tokens: TokenContext, theta: UnsafePointer<Float>, workspace w: TransformerWorkspace) {
        let parameters = FlatParameters(theta: theta)
        let h = w.hidden.baseAddress!
        for block in blocks { run(block, tokens, hidden: h, parameters, w) }
        output(tokens, hidden: h, parameters, w)
    }

    /// The stages a forward pass goes through: each block's parameters, then the final norm's
    /// and the head's (`RayWeightWindow`).
    var stages: [[Parameter]] {
        func linear(_ l: Linear) -> [Parameter] { [l.weight] + (l.bias.map { [$0] } ?? []) }
        func norm(_ n: Norm) -> [Parameter] { [n.weight] + (n.bias.map { [$0] } ?? []) }
        return blocks.map { b in
            var p = norm(b.attentionNorm) + norm(b.feedForwardNorm)
            switch b.attention.projection {
            case .fused(let qkv): p += linear(qkv)
            case .separate(let q, let k, let v): p += linear(q) + linear(k) + linear(v)
            }
            p += linear(b.attention.output) + linear(b.feedForward.up) + (b.feedForward.gate.map(linear) ?? [])
            return p + linear(b.feedForward.down)
        } + [norm(finalNorm) + [head]]
    }

    /// One block on `tokens`, whose residual stream `h` [tokens, hidden] it updates in place.
    func run<P: ParameterSource>(_ block: Block, _ tokens: TokenContext, hidden h: UnsafeMutablePointer<Float>,
                                 _ parameters: P, _ w: TransformerWorkspace) {
        let n = tokens.tokens
        let normed = w.normed.baseAddress!
        block.attentionNorm.apply(h, rows: n, width: hidden, parameters: parameters, into: normed)
        if block.parallelResidual {
            let second = w.normedSecond.baseAddress!
            block.feedForwardNorm.apply(h, rows: n, width: hidden, parameters: parameters, into: second)
            attention(block.attention, input: normed, tokens, hidden: h, parameters, w)
            feedForward(block.feedForward, input: second, rows: n, hidden: h, parameters, w)
        } else {
            attention(block.attention, input: normed, tokens, hidden: h, parameters, w)
            block.feedForwardNorm.apply(h, rows: n, width: hidden, parameters: parameters, into: normed)
            feedForward(block.feedForward, input: normed, rows: n, hidden: h, parameters, w)
        }
    }

    /// The final norm and the output head: residual stream `h` [tokens, hidden] → `w.logits`.
    func output<P: ParameterSource>(_ tokens: TokenContext, hidden h: UnsafeMutablePointer<Float>,
                                    _ parameters: P, _ w: TransformerWorkspace) {
        let n = tokens.tokens
        finalNorm.apply(h, rows: n, width: hidden, parameters: parameters, into: w.normed.baseAddress!)
        w.timed(.matrixProducts) {
            BLAS.gemm(transB: true, m: n, n: vocabulary, k: hidden,
                      a: w.normed.baseAddress!, lda: hidden, b: parameters(head), ldb: hidden,
                      c: w.logits.baseAddress!, ldc: vocabulary)
        }
    }

    /// h += attention(input).
    private func attention<P: ParameterSource>(_ a: Attention, input: UnsafePointer<Float>, _ tokens: TokenContext,
                                               hidden h: UnsafeMutablePointer<Float>, _ parameters: P, _ w: TransformerWorkspace) {
        let n = tokens.tokens
        let projection = w.projection
        let width = a.projectionWidth
        w.timed(.matrixProducts) {
            switch a.projection {
            case .fused(let qkv):
                qkv.apply(input, rows: n, parameters: parameters, into: projection, ldy: width)
            case .separate(let q, let k, let v):
                q.apply(input, rows: n, parameters: parameters, into: projection, ldy: width)
                k.apply(input, rows: n, parameters: parameters, into: projection + a.keyColumns[0], ldy: width)
                v.apply(input, rows: n, parameters: parameters, into: projection + a.valueColumns[0], ldy: width)
            }
        }
        w.timed(.attention) {
            a.apply(projection: projection, tokens: tokens, scores: w.scores.baseAddress!,
                    keysTransposed: w.keysTransposed.baseAddress!, normalization: w.normalization.baseAddress!,
                    into: w.attended)
        }
        w.timed(.matrixProducts) {
            a.output.apply(w.attended, rows: n, parameters: parameters, into: h, ldy: hidden, accumulate: true)
        }
    }

    /// h += feedForward(input).
    private func feedForward<P: ParameterSource>(_ f: FeedForward, input: UnsafePointer<Float>, rows n: Int,
                                                 hidden h: UnsafeMutablePointer<Float>, _ parameters: P, _ w: TransformerWorkspace) {
        let inner = w.inner
        let width = f.up.outputs
        w.timed(.matrixProducts) { f.up.apply(input, rows: n, parameters: parameters, into: inner, ldy: width) }
        if let gate = f.gate {
            let g = w.gate
            w.timed(.matrixProducts) { gate.apply(input, rows: n, parameters: parameters, into: g, ldy: width) }
            f.activation.applyVectorized(g, count: n * width)
            for i in 0..<(n * width) { inner[i] *= g[i] }
        } else {
            f.activation.applyVectorized(inner, count: n * width)
        }
        w.timed(.matrixProducts) { f.down.apply(inner, rows: n, parameters: parameters, into: h, ldy: hidden, accumulate: true) }
    }
}
