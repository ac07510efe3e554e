extension TransformerStructure.Attention {
    /// Causal self-attention over `tokens.rows` sequences of `tokens.length` tokens.
    ///
    /// `projection` holds [tokens, projectionWidth] queries, keys and values (rotated in place
    /// here when `rotary` is set); `out` receives the heads' outputs side by side,
    /// [tokens, heads·headDimension]. Keys masked out by `tokens.keyMask` get no weight; a query
    /// that sees no key at all (left padding) gets zeros. `scores` [length, scoresStride],
    /// `keysTransposed` [headDimension, length] and `normalization` [length] are scratch.
    func apply(projection: UnsafeMutablePointer<Float>, tokens: TokenContext,
               scores: UnsafeMutablePointer<Float>, keysTransposed: UnsafeMutablePointer<Float>,
               normalization: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
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
        let stride = Self.scoresStride(length: length)
        for sequence in 0..<tokens.rows {
            let base = projection + sequence * length * width
            let mask = tokens.keyMask.map { $0 + sequence * length }
            for kv in 0..<keyValueHeads {
                // Kᵀ [headDimension, length], so that Q·Kᵀ is a plain product (OpenBLAS's
                // small-matrix kernel: no packing, no separate clearing of the scores).
                let key = base + keyColumns[kv]
                for j in 0..<length {
                    for d in 0..<headDimension { keysTransposed[d * length + j] = key[j * width + d] }
                }
                for head in (kv * group)..<((kv + 1) * group) {
                    // scores = scale · Q·Kᵀ, [length, length]; only the causal lower triangle is used.
                    BLAS.gemm(m: length, n: length, k: headDimension, alpha: scale,
                              a: base + queryColumns[head], lda: width,
                              b: keysTransposed, ldb: length,
                              c: scores, ldc: stride)
                    Self.causalSoftmax(scores, length: length, keyMask: mask, normalization: normalization)
                    let output = out + sequence * length * outWidth + head * headDimension
                    BLAS.gemm(m: length, n: headDimension, k: length,
                              a: scores, lda: stride,
                              b: base + valueColumns[kv], ldb: width,
                              c: output, ldc: outWidth)
                    for i in 0..<length {
                        let row = output + i * outWidth
                        for d in 0..<headDimension { row[d] *= normalization[i] }
                    }
                }
            }
        }
    }

    /// Row stride of the scores buffer: `length` rounded up to whole eight-lane chunks, so that
    /// every row is processed in full chunks (the padding columns are never read by the product
    /// with the values).
    static func scoresStride(length: Int) -> Int { (length + 7) & ~7 }

    /// Row i ← exp(score − row max) over the keys j ≤ i that the mask keeps, every other entry
    /// ← 0, and normalization[i] ← 1/Σ: the softmax, normalized later on the (narrower) product
    /// with the values. NaN or infinite scores (an overflowed network) make the row NaN through
    /// the sum.
    static func causalSoftmax(_ scores: UnsafeMutablePointer<Float>, length: Int, keyMask: UnsafePointer<Bool>?,
                              normalization: UnsafeMutablePointer<Float>) {
        let stride = scoresStride(length: length)
        for i in 0..<length {
            let row = scores + i * stride
            if let keyMask {
                normalization[i] = maskedSoftmax(row, seen: i + 1, stride: stride, keyMask: keyMask)
            } else {
                normalization[i] = softmax(row, seen: i + 1, stride: stride)
            }
        }
    }

    private typealias Lanes = SIMD8<Float>
    private static let laneIndex = Lanes(0, 1, 2, 3, 4, 5, 6, 7)

    /// x[0..<seen] ← exp(x[0..<seen] − max), x[seen..<stride] ← 0, in whole chunks of eight;
    /// returns 1/Σ exp, the normalization.
    @inline(__always)
    private static func softmax(_ x: UnsafeMutablePointer<Float>, seen: Int, stride: Int) -> Float {
        let chunks = (seen + 7) / 8
        let last = 8 * (chunks - 1)
        // Lanes of the last chunk past `seen` are excluded.
        let outside = laneIndex .>= Lanes(repeating: Float(seen - last))
        @inline(__always) func chunk(_ c: Int) -> Lanes {
            let v = UnsafeRawPointer(x + 8 * c).loadUnaligned(as: Lanes.self)
            return 8 * c == last ? v.replacing(with: -.infinity, where: outside) : v
        }
        var maxLanes = Lanes(repeating: -.infinity)
        for c in 0..<chunks {
            let v = chunk(c)
            maxLanes = maxLanes.replacing(with: v, where: v .> maxLanes)
        }
        let shift = Lanes(repeating: horizontalMax(maxLanes))
        var sumLanes = Lanes(repeating: 0)
        for c in 0..<chunks {
            var e = FastExp.exp8(chunk(c) - shift)
            if 8 * c == last { e = e.replacing(with: 0, where: outside) }
            UnsafeMutableRawPointer(x + 8 * c).storeBytes(of: e, as: Lanes.self)
            sumLanes += e
        }
        for c in chunks..<(stride / 8) {
            UnsafeMutableRawPointer(x + 8 * c).storeBytes(of: Lanes(repeating: 0), as: Lanes.self)
        }
        return 1 / sumLanes.sum()
    }

    @inline(__always)
    private static func horizontalMax(_ v: Lanes) -> Float {
        let a = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
        let b = a.lowHalf.replacing(with: a.highHalf, where: a.highHalf .> a.lowHalf)
        return b[1] > b[0] ? b[1] : b[0]
    }

    /// `softmax` over the unmasked entries of x[0..<seen]; masked entries, entries past `seen` and
    /// a row that sees no key at all (left padding) get 0.
    private static func maskedSoftmax(_ x: UnsafeMutablePointer<Float>, seen: Int, stride: Int, keyMask: UnsafePointer<Bool>) -> Float {
        for j in seen..<stride { x[j] = 0 }
        var maximum = -Float.infinity
        var visible = 0
        for j in 0..<seen where keyMask[j] {
            visible += 1
            if x[j] > maximum || x[j].isNaN { maximum = x[j] }
        }
        guard visible > 0 else {
            for j in 0..<seen { x[j] = 0 }
            return 0
        }
        for j in 0..<seen { x[j] -= maximum }
        FastExp.exp(x, into: x, count: seen)
        var total: Float = 0
        for j in 0..<seen {
            if keyMask[j] { total += x[j] } else { x[j] = 0 }
        }
        return 1 / total
    }
}
