/// Causal self-attention in any `BLASScalar`, for the curvature's backward pass: a forward pass
/// that keeps every head's softmax weights, and reverse mode through one sequence.
///
/// Per head, S = scale·Q·Kᵀ (causal, masked keys excluded), P = softmax(S) row by row, A = P·V.
/// Given δA: δV = Pᵀ·δA, δP = δA·Vᵀ, δS = P∘(δP − rowsum(P∘δP)), δQ = scale·δS·K,
/// δK = scale·δSᵀ·Q. Query heads that share a key/value head (grouped-query attention) add
/// their δK and δV into it. Q and K are the rotated ones, so the rotation's transpose is applied
/// to δQ and δK last.
extension TransformerStructure.Attention {
    /// Rotates `projection` ([tokens, projectionWidth]) in place, writes every head's softmax
    /// weights to `probabilities` ([rows, heads, length, length]; zero above the diagonal, at
    /// masked keys and in rows that see no key) and the heads' outputs to `out`
    /// ([tokens, heads·headDimension]).
    func forward<S: BLASScalar>(projection: UnsafeMutablePointer<S>, tokens: TokenContext,
                                probabilities: UnsafeMutablePointer<S>, into out: UnsafeMutablePointer<S>) {
        let width = projectionWidth
        let length = tokens.length
        let outWidth = heads * headDimension
        if let rotary = tokens.rotary {
            for token in 0..<tokens.tokens {
                let position = token % length
                rotate(projection + token * width, rotary, position: position, transpose: false)
            }
        }
        let group = heads / keyValueHeads
        let scale = S(self.scale)
        for sequence in 0..<tokens.rows {
            let base = projection + sequence * length * width
            let mask = tokens.mask.map { Array($0[(sequence * length)..<((sequence + 1) * length)]) }
            for head in 0..<heads {
                let kv = head / group
                let p = probabilities + (sequence * heads + head) * length * length
                S.gemm(transA: false, transB: true, m: length, n: length, k: headDimension, alpha: scale,
                       a: base + queryColumns[head], lda: width, b: base + keyColumns[kv], ldb: width,
                       beta: 0, c: p, ldc: length)
                if S.self == Float.self, mask == nil {
                    // float32 without padding: every key 0…i is visible; exps by `FastExp`.
                    let p = UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
                    for i in 0..<length {
                        let row = p + i * length
                        var maximum = -Float.infinity
                        for j in 0...i { maximum = max(maximum, row[j]) }
                        for j in 0...i { row[j] -= maximum }
                        FastExp.exp(row, into: row, count: i + 1)
                        var total: Float = 0
                        for j in 0...i { total += row[j] }
                        let inverse = 1 / total
                        for j in 0...i { row[j] *= inverse }
                        for j in (i + 1)..<length { row[j] = 0 }
                    }
                } else {
                    for i in 0..<length {
                        let row = p + i * length
                        var maximum = -S.infinity
                        for j in 0...i where mask?[j] ?? true { maximum = max(maximum, row[j]) }
                        var total: S = 0
                        for j in 0..<length {
                            let visible = j <= i && (mask?[j] ?? true)
                            row[j] = visible ? S.exp(row[j] - maximum) : 0
                            total += row[j]
                        }
                        // A row that sees no key (left padding) keeps all zeros, as in the model's pass.
                        if total > 0 {
                            for j in 0...i { row[j] /= total }
                        }
                    }
                }
                S.gemm(transA: false, transB: false, m: length, n: headDimension, k: length, alpha: 1,
                       a: p, lda: length, b: base + valueColumns[kv], ldb: width,
                       beta: 0, c: out + sequence * length * outWidth + head * headDimension, ldc: outWidth)
            }
        }
    }

    /// Reverse mode through one sequence's positions 0..<`length` (at most the recorded length
    /// `stride`): `dAttended` ([length, heads·headDimension]) holds δA, nonzero only in rows
    /// `first..<length`; `projection` ([length, projectionWidth]) and `probabilities`
    /// ([heads, stride, stride]) are the sequence's recorded ones. Writes δ of the (unrotated)
    /// projection to `dProjection` ([length, projectionWidth]); `dScores` holds
    /// (length − first)·length scalars of scratch.
    func backward<S: BLASScalar>(length: Int, first: Int, stride: Int, rotary: TokenContext.Rotary?,
                                 dAttended: UnsafePointer<S>, projection: UnsafePointer<S>, probabilities: UnsafePointer<S>,
                                 dScores: UnsafeMutablePointer<S>, into dProjection: UnsafeMutablePointer<S>) {
        let width = projectionWidth
        let outWidth = heads * headDimension
        let rows = length - first
        let group = heads / keyValueHeads
        let scale = S(self.scale)
        dProjection.update(repeating: 0, count: length * width)
        for head in 0..<heads {
            let kv = head / group
            let p = probabilities + head * stride * stride + first * stride
            let dA = dAttended + first * outWidth + head * headDimension
            // δV += Pᵀ·δA over the query rows that carry gradient.
            S.gemm(transA: true, transB: false, m: length, n: headDimension, k: rows, alpha: 1,
                   a: p, lda: stride, b: dA, ldb: outWidth, beta: 1, c: dProjection + valueColumns[kv], ldc: width)
            // δP = δA·Vᵀ, then δS = P∘(δP − rowsum(P∘δP)) in place.
            S.gemm(transA: false, transB: true, m: rows, n: length, k: headDimension, alpha: 1,
                   a: dA, lda: outWidth, b: projection + valueColumns[kv], ldb: width, beta: 0, c: dScores, ldc: length)
            for r in 0..<rows {
                let pr = p + r * stride, d = dScores + r * length
                let seen = first + r + 1
                var dot: S = 0
                for j in 0..<seen { dot += pr[j] * d[j] }
                for j in 0..<seen { d[j] = pr[j] * (d[j] - dot) }
                for j in seen..<length { d[j] = 0 }
            }
            S.gemm(transA: false, transB: false, m: rows, n: headDimension, k: length, alpha: scale,
                   a: dScores, lda: length, b: projection + keyColumns[kv], ldb: width,
                   beta: 1, c: dProjection + first * width + queryColumns[head], ldc: width)
            S.gemm(transA: true, transB: false, m: length, n: headDimension, k: rows, alpha: scale,
                   a: dScores, lda: length, b: projection + first * width + queryColumns[head], ldb: width,
                   beta: 1, c: dProjection + keyColumns[kv], ldc: width)
        }
        if let rotary {
            for position in 0..<length {
                rotate(dProjection + position * width, rotary, position: position, transpose: true)
            }
        }
    }

    /// Rotates every query and key head of one token's projection row (`transpose`: by the
    /// inverse angle, which is the rotation's transpose, for gradients).
    private func rotate<S: BLASScalar>(_ row: UnsafeMutablePointer<S>, _ rotary: TokenContext.Rotary,
                                       position: Int, transpose: Bool) {
        let half = rotary.embedding.half
        func rotateHead(_ x: UnsafeMutablePointer<S>) {
            for i in 0..<half {
                let c = S(rotary.cos[position * half + i])
                let s = transpose ? -S(rotary.sin[position * half + i]) : S(rotary.sin[position * half + i])
                let a = x[i], b = x[i + half]
                x[i] = a * c - b * s
                x[i + half] = b * c + a * s
            }
        }
        for column in queryColumns { rotateHead(row + column) }
        for column in keyColumns { rotateHead(row + column) }
    }
}
