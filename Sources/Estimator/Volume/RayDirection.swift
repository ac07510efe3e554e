/// The unit search direction v̂ of one ray, as a ray evaluator reads it: any range of its
/// elements on demand (`fill`).
///
/// A Philox direction under the identity or a diagonal preconditioner is never held whole: its
/// elements are v̂_j = (P·g)_j/‖P·g‖ with g_j from Philox block j/4 of the direction's stream, so
/// an evaluator regenerates the block of weights each stage of a forward pass needs, and a worker
/// holds no D-length vector (docs/estimator.md, "Directions"). Directions that cannot be
/// regenerated in pieces — a dense preconditioner's, or PyTorch's sequential stream — are
/// materialized in a buffer the caller keeps valid while the evaluator uses the direction.
public struct RayDirection: @unchecked Sendable {
    enum Form {
        case streamed(StreamedDirection)
        case materialized(UnsafeBufferPointer<Float>)
    }

    let form: Form

    /// A direction held in `buffer` (unit length, flat layout).
    public static func materialized(_ buffer: UnsafeBufferPointer<Float>) -> RayDirection {
        RayDirection(form: .materialized(buffer))
    }

    static func streamed(_ direction: StreamedDirection) -> RayDirection {
        RayDirection(form: .streamed(direction))
    }

    public var dimension: Int {
        switch form {
        case .streamed(let s): s.sampler.dimension
        case .materialized(let b): b.count
        }
    }

    /// The buffer of a materialized direction; nil for a streamed one.
    public var buffer: UnsafeBufferPointer<Float>? {
        if case .materialized(let b) = form { return b }
        return nil
    }

    /// out[i] = v̂[range.lowerBound + i] for every i in 0..<range.count. No allocation.
    @inline(__always)
    public func fill(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        switch form {
        case .streamed(let s): s.fill(range, into: out)
        case .materialized(let b): out.update(from: b.baseAddress! + range.lowerBound, count: range.count)
        }
    }

    /// out[i] = anchor[i] + t·v̂[range.lowerBound + i]: the weights at distance t along the ray,
    /// with `anchor` pointing at θ0's element range.lowerBound.
    @inline(__always)
    func perturbed(_ range: Range<Int>, anchor a: UnsafePointer<Float>, t: Float, into out: UnsafeMutablePointer<Float>) {
        switch form {
        case .streamed(let s):
            s.fill(range, into: out)
            for j in 0..<range.count { out[j] = a[j] + t * out[j] }
        case .materialized(let b):
            let v = b.baseAddress! + range.lowerBound
            for j in 0..<range.count { out[j] = a[j] + t * v[j] }
        }
    }

    /// All of v̂ in `out` (D elements): for evaluators of small models that keep their own copy.
    public func materialize(into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count == dimension)
        guard let base = out.baseAddress else { return }
        fill(0..<dimension, into: base)
    }
}

/// v̂ = P·g/‖P·g‖ for a Philox direction g and a diagonal (or identity) P, regenerated block by
/// block. `measure` takes the passes over the direction that the search needs first, in float64
/// and in a fixed order whatever the number of threads: ‖g‖ and ‖P·g‖, then the norm of the
/// float32 v̂ the evaluator will see and v̂·θ0.
struct StreamedDirection: Sendable {
    let sampler: DirectionSampler
    let index: Int
    /// P's diagonal; nil for the identity.
    let diagonal: [Float]?
    /// 1/‖P·g‖.
    let scale: Double

    /// Σ g_j² and Σ (P·g)_j² over the float32-rounded g_j; Σ v̂_j² and Σ v̂_j·θ0_j over the
    /// float32 v̂_j.
    struct Moments: Sendable {
        var normSquared = 0.0
        var preconditionedNormSquared = 0.0
        var unitNormSquared = 0.0
        var anchorDot = 0.0
    }

    /// Elements per piece of a measuring pass: pieces are summed on their own and then in order,
    /// so the sums do not depend on how many threads share the pieces.
    static let piece = 1 << 16
    /// Elements generated at once into a buffer on the stack.
    private static let batch = 1024

    /// Measures direction `index` (two passes, each shared by `lanes` threads): its moments and
    /// the streamed direction they define. Without `anchor`, `anchorDot` is 0.
    static func measure(_ sampler: DirectionSampler, index: Int, diagonal: [Float]?, anchor: UnsafePointer<Float>?,
                        lanes: Int) -> (direction: StreamedDirection, moments: Moments) {
        let d = sampler.dimension
        let norms = sumPieces(d, lanes: lanes) { range in
            moments(sampler, index: index, range, diagonal: diagonal)
        }
        let direction = StreamedDirection(sampler: sampler, index: index, diagonal: diagonal,
                                          scale: 1 / norms[1].squareRoot())
        let anchorAddress = anchor.map(SendableAddress.init)
        let unit = sumPieces(d, lanes: lanes) { range in
            direction.unitMoments(range, anchor: anchorAddress?.pointer)
        }
        return (direction, Moments(normSquared: norms[0], preconditionedNormSquared: norms[1],
                                   unitNormSquared: unit[0], anchorDot: unit[1]))
    }

    /// Two sums over 0..<d: `piece(range)`'s per fixed piece, on `lanes` threads, added in piece order.
    private static func sumPieces(_ d: Int, lanes: Int, _ piece: @Sendable (Range<Int>) -> SIMD2<Double>) -> SIMD2<Double> {
        let pieces = (d + Self.piece - 1) / Self.piece
        let partial = UnsafeMutableBufferPointer<SIMD2<Double>>.allocate(capacity: max(pieces, 1))
        defer { partial.deallocate() }
        let slots = SendableBuffer(partial)
        WorkerPool.run(threads: lanes, count: pieces) { _, p in
            slots.buffer[p] = piece((p * Self.piece)..<min(d, (p + 1) * Self.piece))
        }
        var total = SIMD2<Double>()
        for p in 0..<pieces { total += partial[p] }
        return total
    }

    /// Σ v̂_j² and Σ v̂_j·θ0_j over `range` (a multiple of 4 from its start), four partial sums each.
    private func unitMoments(_ range: Range<Int>, anchor: UnsafePointer<Float>?) -> SIMD2<Double> {
        var vv = SIMD4<Double>(), va = SIMD4<Double>()
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Self.batch) { buffer in
            let v = buffer.baseAddress!
            var start = range.lowerBound
            while start < range.upperBound {
                let count = min(Self.batch, range.upperBound - start)
                fill(start..<(start + count), into: v)
                var j = 0
                while j < count {
                    var value = SIMD4<Double>(), a = SIMD4<Double>()
                    if j + 4 <= count {
                        value = SIMD4(UnsafeRawPointer(v + j).loadUnaligned(as: SIMD4<Float>.self))
                        if let anchor { a = SIMD4(UnsafeRawPointer(anchor + start + j).loadUnaligned(as: SIMD4<Float>.self)) }
                    } else {
                        for k in 0..<(count - j) {
                            value[k] = Double(v[j + k])
                            if let anchor { a[k] = Double(anchor[start + j + k]) }
                        }
                    }
                    vv += value * value
                    va += value * a
                    j += 4
                }
                start += count
            }
        }
        return SIMD2((vv[0] + vv[1]) + (vv[2] + vv[3]), (va[0] + va[1]) + (va[2] + va[3]))
    }

    /// Σ g_j² and Σ (P·g)_j² over one piece (a multiple of 4 from its start), four partial sums each.
    private static func moments(_ sampler: DirectionSampler, index: Int, _ range: Range<Int>,
                                diagonal: [Float]?) -> SIMD2<Double> {
        var gg = SIMD4<Double>(), pp = SIMD4<Double>()
        withUnsafeTemporaryAllocation(of: Float.self, capacity: batch) { buffer in
            let g = buffer.baseAddress!
            diagonal.withUnsafeOptionalBuffer { p in
                var start = range.lowerBound
                while start < range.upperBound {
                    let count = min(batch, range.upperBound - start)
                    sampler.normals(index, start..<(start + count), into: g)
                    var j = 0
                    while j < count {
                        var value = SIMD4<Double>(), weight = SIMD4<Double>(repeating: 1)
                        if j + 4 <= count {
                            value = SIMD4(UnsafeRawPointer(g + j).loadUnaligned(as: SIMD4<Float>.self))
                            if let p { weight = SIMD4(UnsafeRawPointer(p.baseAddress! + start + j).loadUnaligned(as: SIMD4<Float>.self)) }
                        } else {
                            for k in 0..<(count - j) {
                                value[k] = Double(g[j + k])
                                if let p { weight[k] = Double(p[start + j + k]) }
                            }
                        }
                        // Exact: a product of two float32s fits a float64.
                        let pg = weight * value
                        gg += value * value
                        pp += pg * pg
                        j += 4
                    }
                    start += count
                }
            }
        }
        return SIMD2((gg[0] + gg[1]) + (gg[2] + gg[3]), (pp[0] + pp[1]) + (pp[2] + pp[3]))
    }

    /// out[i] = v̂[range.lowerBound + i] = Float((P·g)_j · scale).
    func fill(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        sampler.normals(index, range, into: out)
        let n = range.count
        let s = scale
        typealias Wide = SIMD8<Double>
        typealias Narrow = SIMD8<Float>
        var i = 0
        if let diagonal {
            diagonal.withUnsafeBufferPointer { p in
                let pj = p.baseAddress! + range.lowerBound
                while i + 8 <= n {
                    let g = Wide(UnsafeRawPointer(out + i).loadUnaligned(as: Narrow.self))
                    let q = Wide(UnsafeRawPointer(pj + i).loadUnaligned(as: Narrow.self))
                    UnsafeMutableRawPointer(out + i).storeBytes(of: Narrow(q * g * s), as: Narrow.self)
                    i += 8
                }
                while i < n {
                    out[i] = Float(Double(pj[i]) * Double(out[i]) * s)
                    i += 1
                }
            }
        } else {
            while i + 8 <= n {
                let g = Wide(UnsafeRawPointer(out + i).loadUnaligned(as: Narrow.self))
                UnsafeMutableRawPointer(out + i).storeBytes(of: Narrow(g * s), as: Narrow.self)
                i += 8
            }
            while i < n {
                out[i] = Float(Double(out[i]) * s)
                i += 1
            }
        }
    }
}

private extension Optional where Wrapped == [Float] {
    /// The array's buffer, or nil, for the duration of `body`.
    func withUnsafeOptionalBuffer<R>(_ body: (UnsafeBufferPointer<Float>?) -> R) -> R {
        switch self {
        case .some(let array): array.withUnsafeBufferPointer { body($0) }
        case .none: body(nil)
        }
    }
}

/// A buffer whose disjoint elements threads write; read after they are joined.
struct SendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}

/// A read-only address shared by threads.
struct SendableAddress<Element>: @unchecked Sendable {
    let pointer: UnsafePointer<Element>
    init(_ pointer: UnsafePointer<Element>) { self.pointer = pointer }
}
