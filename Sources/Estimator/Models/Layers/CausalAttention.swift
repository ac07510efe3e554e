extension TransformerStructure.Attention {
    /// Causal self-attention over `tokens.rows` sequences of `tokens.length` tokens.
    ///
    /// `projection` holds [tokens, projectionWidth] queries, keys and values (rotated in place
    /// here when `rotary` is set); `out` receives the heads' outputs side by side,
    /// [tokens, heads·headDimension]. Keys masked out by `tokens.keyMask` get no weight; a query
    /// that sees no key at all (left padding) gets zeros. `scores` is [length, length] scratch.
    func apply(projection: UnsafeMutablePointer<Float>, tokens: TokenContext,
               scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let width = projectionWidth
        let length = tokens.length
        let outWidth = heads * headDimension
        if let rotary = tokens.rotary {
            let half = rotary.embedding.half
            rotary.cos.withUnsafeBufferPointer { cos in
                rotary.sin.withUnsafeBufferPointer { sin in
                    for token in 0..<(tokens.rows * length) {
                        let row = projection + token * width
                        let position = token % length
                        let c = cos.baseAddress! + position * half, s = sin.baseAddress! + position * half
                        for column in queryColumns { RotaryEmbedding.rotate(row + column, half: half, cos: c, sin: s) }
                        for column in keyColumns { RotaryEmbedding.rotate(row + column, half: half, cos: c, sin: s) }
                    }
                }
            }
        }
        let group = heads / keyValueHeads
        for sequence in 0..<tokens.rows {
            let base = projection + sequence * length * width
            let mask = tokens.keyMask.map { $0 + sequence * length }
            for head in 0..<heads {
                let kv = head / group
                // scores = scale · Q·Kᵀ, [length, length]; only the causal lower triangle is used.
                BLAS.gemm(transB: true, m: length, n: length, k: headDimension, alpha: scale,
                          a: base + queryColumns[head], lda: width,
                          b: base + keyColumns[kv], ldb: width,
                          c: scores, ldc: length)
                Self.causalSoftmax(scores, length: length, keyMask: mask)
                BLAS.gemm(m: length, n: headDimension, k: length,
                          a: scores, lda: length,
                          b: base + valueColumns[kv], ldb: width,
                          c: out + sequence * length * outWidth + head * headDimension, ldc: outWidth)
            }
        }
    }

    /// Row i ← softmax over the keys j ≤ i that the mask keeps; every other entry ← 0.
    static func causalSoftmax(_ scores: UnsafeMutablePointer<Float>, length: Int, keyMask: UnsafePointer<Bool>?) {
        for i in 0..<length {
            let row = scores + i * length
            let seen = i + 1
            var maximum = -Float.infinity
            var visible = 0
            for j in 0..<seen where keyMask?[j] ?? true {
                visible += 1
                // NaN must reach the output (an overflowed network), so it wins the maximum.
                if row[j] > maximum || row[j].isNaN { maximum = row[j] }
            }
            if visible == 0 {
                for j in 0..<length { row[j] = 0 }
                continue
            }
            for j in 0..<seen { row[j] -= maximum }
            FastExp.exp(row, into: row, count: seen)
            var total: Float = 0
            if let keyMask {
                for j in 0..<seen {
                    if keyMask[j] { total += row[j] } else { row[j] = 0 }
                }
            } else {
                for j in 0..<seen { total += row[j] }
            }
            let inverse = 1 / total
            for j in 0..<seen { row[j] *= inverse }
            for j in seen..<length { row[j] = 0 }
        }
    }
}
