import Glibc

/// Where an estimate's unit directions come from.
public protocol DirectionSource: Sendable {
    var dimension: Int { get }
    /// Writes direction `index` (a unit vector, up to float32 rounding) into `u`.
    func unitDirection(_ index: Int, into u: UnsafeMutableBufferPointer<Float>)
}

/// Uniformly distributed unit directions in R^D, each one reproducible on its own.
///
/// Direction `index` is u = g/‖g‖ with g ~ N(0, I_D); element j of g comes from Philox block
/// j/4 of stream `index` under the key `seed`. Nothing is carried between directions, so a
/// direction's numbers do not depend on the thread that draws it or on which others were drawn.
public struct DirectionSampler: DirectionSource {
    public let seed: UInt64
    public let dimension: Int
    private let philox: Philox

    public init(seed: UInt64, dimension: Int) {
        precondition(dimension >= 0, "dimension \(dimension) is negative")
        self.seed = seed
        self.dimension = dimension
        philox = Philox(key: seed)
    }

    /// Writes u = g/‖g‖ for direction `index`, g ~ N(0, I_D) drawn from Philox keyed by (seed, index)
    /// with the element index as counter, so any direction can be generated alone, on any thread.
    /// The norm is accumulated in Float64. No allocation.
    public func unitDirection(_ index: Int, into u: UnsafeMutableBufferPointer<Float>) {
        precondition(index >= 0, "direction index \(index) is negative")
        precondition(u.count == dimension, "buffer holds \(u.count) elements, dimension is \(dimension)")
        guard let base = u.baseAddress, dimension > 0 else { return }
        normals(index, 0..<dimension, into: base)
        // Four partial sums, one per lane of a block, added in a fixed order keep the norm deterministic.
        var sums = SIMD4<Double>(repeating: 0)
        let fullBlocks = dimension / 4
        for block in 0..<fullBlocks {
            let widened = SIMD4<Double>(UnsafeRawPointer(base + 4 * block).loadUnaligned(as: SIMD4<Float>.self))
            sums += widened * widened
        }
        for lane in 0..<(dimension - 4 * fullBlocks) {
            let stored = Double(base[4 * fullBlocks + lane])
            sums[lane] += stored * stored
        }
        // Normalize the stored (rounded) values, so ‖u‖ = 1 up to the final rounding only. The sum is
        // positive: every Box–Muller radius is, and no angle has a vanishing sine and cosine.
        let scale = 1 / ((sums[0] + sums[1]) + (sums[2] + sums[3])).squareRoot()
        for j in 0..<dimension {
            base[j] = Float(Double(base[j]) * scale)
        }
    }

    /// Writes the float32-rounded normals g_j, j in `range`, of direction `index` to `out[0...]`.
    /// Element j comes from Philox block j/4 alone, so any range is generated directly — a
    /// streamed direction regenerates the block of weights a forward pass needs. No allocation.
    public func normals(_ index: Int, _ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= dimension, "range \(range) is outside 0..<\(dimension)")
        let stream = UInt64(index)
        var j = range.lowerBound
        let end = range.upperBound
        // A partial first block.
        if j % 4 != 0, j < end {
            let block = j / 4
            let x = philox.block(stream: stream, position: UInt64(block))
            let g = Self.normals(x, x).0
            while j < end, j < 4 * block + 4 {
                out[j - range.lowerBound] = Float(g[j - 4 * block])
                j += 1
            }
        }
        // Two whole blocks at a time fill the four lanes of the angle arithmetic.
        while j + 8 <= end {
            let block = UInt64(j / 4)
            let (g0, g1) = Self.normals(philox.block(stream: stream, position: block),
                                        philox.block(stream: stream, position: block + 1))
            let o = UnsafeMutableRawPointer(out + (j - range.lowerBound))
            o.storeBytes(of: SIMD4<Float>(g0), as: SIMD4<Float>.self)
            (o + 16).storeBytes(of: SIMD4<Float>(g1), as: SIMD4<Float>.self)
            j += 8
        }
        // At most one more whole block, and a partial last one.
        while j < end {
            let block = j / 4
            let x = philox.block(stream: stream, position: UInt64(block))
            let g = Self.normals(x, x).0
            while j < end, j < 4 * block + 4 {
                out[j - range.lowerBound] = Float(g[j - 4 * block])
                j += 1
            }
        }
    }

    /// Standard normals for two Philox blocks, four each: Box–Muller in Float64 on the word pairs
    /// (x0, x1) and (x2, x3) of each block, the radius from the first word and the angle from the
    /// second. A block's normals depend on that block alone.
    @inline(__always)
    static func normals(_ a: SIMD4<UInt32>, _ b: SIMD4<UInt32>) -> (SIMD4<Double>, SIMD4<Double>) {
        let radiusBits = SIMD4<UInt32>(a[0], a[2], b[0], b[2])
        let angleBits = SIMD4<UInt32>(a[1], a[3], b[1], b[3])
        // Radius √(−2 log u) with u ∈ (0, 1) the midpoint of one of 2^32 cells: never log 0.
        // The logs one lane at a time, the (correctly rounded, so identical) square roots together.
        var radius = SIMD4<Double>()
        for lane in 0..<4 {
            radius[lane] = -2 * log(Philox.openUniform(radiusBits[lane]))
        }
        radius = radius.squareRoot()
        // Angle: the top two bits pick a quarter turn q, the other 30 an offset φ ∈ (−π/4, π/4);
        // (cos, sin) of q·π/2 + φ is (cos φ, sin φ) turned q quarter turns.
        let quarter = SIMD4<Int64>(truncatingIfNeeded: angleBits &>> 30)
        let offset = (SIMD4<Double>(angleBits & 0x3FFF_FFFF) + 0.5) * 0x1p-30
        let (sinPhi, cosPhi) = SpecialFunctions.sinCos((offset - 0.5) * (Double.pi / 2))
        let odd = (quarter & 1) .== 1
        var x = cosPhi, y = sinPhi
        x.replace(with: sinPhi, where: odd)
        y.replace(with: cosPhi, where: odd)
        x.replace(with: -x, where: (quarter .== 1) .| (quarter .== 2))
        y.replace(with: -y, where: quarter .>= 2)
        x *= radius
        y *= radius
        return (SIMD4(x[0], y[0], x[1], y[1]), SIMD4(x[2], y[2], x[3], y[3]))
    }
}
