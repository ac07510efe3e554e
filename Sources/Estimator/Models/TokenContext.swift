/// The eval token batch as the forward pass sees it, shared read-only by all workers: `rows`
/// sequences of `length` tokens at positions 0…length−1, the keys attention may use, and the
/// rotary tables for those positions.
final class TokenContext: @unchecked Sendable {  // immutable after init
    struct Rotary: Sendable {
        let embedding: RotaryEmbedding
        /// [length, dimensions/2] each.
        let cos: [Float]
        let sin: [Float]
    }

    let rows: Int
    let length: Int
    /// Token ids, [rows·length].
    let ids: [Int]
    /// Unmasked tokens, [rows·length]; nil when every token counts.
    let mask: [Bool]?
    let rotary: Rotary?

    var tokens: Int { rows * length }

    /// Indices of the tokens the KL is averaged over; nil for all.
    var included: [Int]? {
        mask.map { m in m.indices.filter { m[$0] } }
    }

    /// `mask` for the attention kernel, owned by this context.
    let keyMask: UnsafePointer<Bool>?

    init(ids: [Int], mask: [Bool]?, rows: Int, length: Int, rotary: RotaryEmbedding?) {
        self.rows = rows
        self.length = length
        self.ids = ids
        // A mask of all ones changes nothing; dropping it keeps the fast path.
        let mask = mask.flatMap { $0.allSatisfy { $0 } ? nil : $0 }
        self.mask = mask
        keyMask = mask.map { m in
            let copy = UnsafeMutableBufferPointer<Bool>.allocate(capacity: m.count)
            _ = copy.initialize(from: m)
            return UnsafePointer(copy.baseAddress!)
        }
        self.rotary = rotary.flatMap { r in
            guard r.dimensions > 0 else { return nil }
            let (cos, sin) = r.tables(length: length)
            return Rotary(embedding: r, cos: cos, sin: sin)
        }
    }

    /// The sequences in `range` as a batch of their own (positions again 0…length−1).
    func sequences(_ range: Range<Int>) -> TokenContext {
        let tokens = (range.lowerBound * length)..<(range.upperBound * length)
        return TokenContext(ids: Array(ids[tokens]), mask: mask.map { Array($0[tokens]) },
                            rows: range.count, length: length, rotary: rotary?.embedding)
    }

    deinit {
        keyMask.map { UnsafeMutablePointer(mutating: $0).deallocate() }
    }
}
