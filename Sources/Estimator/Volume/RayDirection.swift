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
/// block. `measure` takes the one pass over all of g that the search needs first: ‖g‖, ‖P·g‖ and
/// (P·g)·θ0, in float64, in a fixed order whatever the number of threads.
struct StreamedDirection: Sendable {
    let sampler: DirectionSampler
    let index: Int
    /// P's diagonal; nil for the identity.
    let diagonal: [Float]?
    /// 1/‖P·g‖.
    let scale: Double

    /// Σ g_j², Σ (P·g)_j² and Σ (P·g)_j·θ0_j over the float32-rounded g_j.
    struct Moments: Sendable {
        var normSquared = 0.0
        var preconditionedNormSquared = 0.0
        var anchorDot = 0.0
    }

    /// Elements per piece of the measuring pass: pieces are summed on their own and then in order,
    /// so the sums do not depend on how many threads share the pieces.
    static let piece = 1 << 16
    /// Elements generated at once into a buffer on the stack.
    private static let batch = 1024

    /// Measures direction `index`: its moments and the streamed direction they define.
    static func measure(_ sampler: DirectionSampler, index: Int, diagonal: [Float]?, anchor: UnsafePointer<Float>?,
                        lanes: Int) -> (direction: StreamedDirection, moments: Moments) {
        let d = sampler.dimension
        let pieces = (d + piece - 1) / piece
        let partial = UnsafeMutableBufferPointer<Moments>.allocate(capacity: max(pieces, 1))
        defer { partial.deallocate() }
        let slots = SendableBuffer(partial)
        let anchorAddress = anchor.map(SendableAddress.init)
        WorkerPool.run(threads: lanes, count: pieces) { _, p in
            let range = (p * piece)..<min(d, (p + 1) * piece)
            slots.buffer[p] = Self.moments(sampler, index: index, range, diagonal: diagonal, anchor: anchorAddress?.pointer)
        }
        var total = Moments()
        for m in partial.prefix(pieces) {
            total.normSquared += m.normSquared
            total.preconditionedNormSquared += m.preconditionedNormSquared
            total.anchorDot += m.anchorDot
        }
        let direction = StreamedDirection(sampler: sampler, index: index, diagonal: diagonal,
                                          scale: 1 / total.preconditionedNormSquared.squareRoot())
        return (direction, total)
    }

    /// One piece's moments, four partial sums per quantity (one per element lane mod 4).
    private static func moments(_ sampler: DirectionSampler, index: Int, _ range: Range<Int>,
                                diagonal: [Float]?, anchor: UnsafePointer<Float>?) -> Moments {
        var gg = SIMD4<Double>(), pp = SIMD4<Double>(), pa = SIMD4<Double>()
        withUnsafeTemporaryAllocation(of: Float.self, capacity: batch) { buffer in
            let g = buffer.baseAddress!
            diagonal.withUnsafeOptionalBuffer { p in
                var start = range.lowerBound
                while start < range.upperBound {
                    let count = min(batch, range.upperBound - start)
                    sampler.normals(index, start..<(start + count), into: g)
                    // `start` is a multiple of 4, so element lanes are SIMD lanes.
                    var j = 0
                    while j < count {
                        var value = SIMD4<Double>(), weight = SIMD4<Double>(repeating: 1), a = SIMD4<Double>()
                        if j + 4 <= count {
                            value = SIMD4(UnsafeRawPointer(g + j).loadUnaligned(as: SIMD4<Float>.self))
                            if let p { weight = SIMD4(UnsafeRawPointer(p.baseAddress! + start + j).loadUnaligned(as: SIMD4<Float>.self)) }
                            if let anchor { a = SIMD4(UnsafeRawPointer(anchor + start + j).loadUnaligned(as: SIMD4<Float>.self)) }
                        } else {
                            for k in 0..<(count - j) {
                                value[k] = Double(g[j + k])
                                if let p { weight[k] = Double(p[start + j + k]) }
                                if let anchor { a[k] = Double(anchor[start + j + k]) }
                            }
                        }
                        // Exact: a product of two float32s fits a float64.
                        let pg = weight * value
                        gg += value * value
                        pp += pg * pg
                        pa += pg * a
                        j += 4
                    }
                    start += count
                }
            }
        }
        return Moments(normSquared: (gg[0] + gg[1]) + (gg[2] + gg[3]),
                       preconditionedNormSquared: (pp[0] + pp[1]) + (pp[2] + pp[3]),
                       anchorDot: (pa[0] + pa[1]) + (pa[2] + pa[3]))
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
