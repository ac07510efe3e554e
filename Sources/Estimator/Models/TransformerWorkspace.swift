/// The activation buffers of one forward pass over a whole token batch, allocated once; one per
/// worker thread, so an evaluation allocates nothing.
///
/// Buffers that are never live at the same time share one scratch allocation: queries/keys/values
/// and the heads' outputs (attention), the feed-forward units, and the output logits.
final class TransformerWorkspace {
    let tokens: Int
    /// The residual stream [tokens, hidden]; the caller writes the embedded tokens here.
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

    init(structure s: TransformerStructure, tokens: TokenContext) {
        let n = tokens.tokens
        self.tokens = n
        hidden = .allocate(capacity: n * s.hidden)
        normed = .allocate(capacity: n * s.hidden)
        normedSecond = .allocate(capacity: s.blocks.contains(where: \.parallelResidual) ? n * s.hidden : 0)
        scores = .allocate(capacity: tokens.length * TransformerStructure.Attention.scoresStride(length: tokens.length))
        normalization = .allocate(capacity: tokens.length)
        keysTransposed = .allocate(capacity: tokens.length * (s.blocks.map(\.attention.headDimension).max() ?? 0))
        let attentionWidth = s.widestProjection + s.widestAttentionOutput
        let feedForwardWidth = s.widestFeedForward * (s.hasGatedFeedForward ? 2 : 1)
        scratch = .allocate(capacity: n * max(attentionWidth, feedForwardWidth, s.vocabulary))
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

    /// Bytes held by the buffers.
    var byteCount: Int {
        [hidden, normed, normedSecond, scores, normalization, keysTransposed, scratch].reduce(0) { $0 + $1.count } * MemoryLayout<Float>.stride
    }
}

extension TransformerStructure {
    /// Writes the embedded tokens E[id] (+ P[position]) into `hidden` [tokens, hidden], reading
    /// the tables from `theta`.
    func embed(_ tokens: TokenContext, theta: UnsafePointer<Float>, into hidden: UnsafeMutablePointer<Float>) {
        let width = self.hidden
        let table = theta + tokenEmbedding.offset
        let positions = positionEmbedding.map { theta + $0.offset }
        for (token, id) in tokens.ids.enumerated() {
            let out = hidden + token * width
            let row = table + id * width
            if let positions {
                let p = positions + (token % tokens.length) * width
                for j in 0..<width { out[j] = row[j] + p[j] }
            } else {
                for j in 0..<width { out[j] = row[j] }
            }
        }
    }

    /// From the embedded tokens in `workspace.hidden` to `workspace.logits`, at parameters `theta`.
    func forward(_ tokens: TokenContext, theta: UnsafePointer<Float>, workspace w: TransformerWorkspace) {
        let n = tokens.tokens
        let h = w.hidden.baseAddress!
        let normed = w.normed.baseAddress!
        for block in blocks {
            block.attentionNorm.apply(h, rows: n, width: hidden, theta: theta, into: normed)
            if block.parallelResidual {
                let second = w.normedSecond.baseAddress!
                block.feedForwardNorm.apply(h, rows: n, width: hidden, theta: theta, into: second)
                attention(block.attention, input: normed, tokens, theta, w)
                feedForward(block.feedForward, input: second, rows: n, theta, w)
            } else {
                attention(block.attention, input: normed, tokens, theta, w)
                block.feedForwardNorm.apply(h, rows: n, width: hidden, theta: theta, into: normed)
                feedForward(block.feedForward, input: normed, rows: n, theta, w)
            }
        }
        finalNorm.apply(h, rows: n, width: hidden, theta: theta, into: normed)
        BLAS.gemm(transB: true, m: n, n: vocabulary, k: hidden,
                  a: normed, lda: hidden, b: theta + head.offset, ldb: hidden,
                  c: w.logits.baseAddress!, ldc: vocabulary)
    }

    /// hidden += attention(input).
    private func attention(_ a: Attention, input: UnsafePointer<Float>, _ tokens: TokenContext,
                           _ theta: UnsafePointer<Float>, _ w: TransformerWorkspace) {
        let n = tokens.tokens
        let projection = w.projection
        let width = a.projectionWidth
        switch a.projection {
        case .fused(let qkv):
            qkv.apply(input, rows: n, theta: theta, into: projection, ldy: width)
        case .separate(let q, let k, let v):
            q.apply(input, rows: n, theta: theta, into: projection, ldy: width)
            k.apply(input, rows: n, theta: theta, into: projection + a.keyColumns[0], ldy: width)
            v.apply(input, rows: n, theta: theta, into: projection + a.valueColumns[0], ldy: width)
        }
        a.apply(projection: projection, tokens: tokens, scores: w.scores.baseAddress!,
                keysTransposed: w.keysTransposed.baseAddress!, normalization: w.normalization.baseAddress!,
                into: w.attended)
        a.output.apply(w.attended, rows: n, theta: theta, into: w.hidden.baseAddress!, ldy: hidden, accumulate: true)
    }

    /// hidden += feedForward(input).
    private func feedForward(_ f: FeedForward, input: UnsafePointer<Float>, rows n: Int,
                             _ theta: UnsafePointer<Float>, _ w: TransformerWorkspace) {
        let inner = w.inner
        let width = f.up.outputs
        f.up.apply(input, rows: n, theta: theta, into: inner, ldy: width)
        if let gate = f.gate {
            let g = w.gate
            gate.apply(input, rows: n, theta: theta, into: g, ldy: width)
            f.activation.applyVectorized(g, count: n * width)
            for i in 0..<(n * width) { inner[i] *= g[i] }
        } else {
            f.activation.applyVectorized(inner, count: n * width)
        }
        f.down.apply(inner, rows: n, theta: theta, into: w.hidden.baseAddress!, ldy: hidden, accumulate: true)
    }
}
