import Glibc

/// The directions tyche draws: `torch.manual_seed(seed); torch.randn(k, D)` on PyTorch's CPU
/// generator, row i normalized. Estimating with them reproduces the reference implementation's
/// per-seed numbers, up to its coarser radius search.
///
/// PyTorch's generator is MT19937 seeded with `seed`; a float32 uniform is the low 24 bits of
/// one 32-bit output times 2⁻²⁴. For a contiguous float32 tensor of n ≥ 16 values, `randn` first
/// draws all n uniforms, then turns each block of 16 into normals by Box–Muller over the pairs
/// (j, j + 8): r = √(−2 ln(1 − u_j)), θ = 2π·u_{j+8}, giving r·cos θ and r·sin θ. When 16 does
/// not divide n, the last 16 values are drawn again and transformed as one more block. PyTorch
/// evaluates log, sin and cos with float32 polynomials; here they are float64, so values can
/// differ in the last bit.
///
/// The k·D values come from one sequential stream, so they are all drawn up front (k·D floats).
public final class TorchDirections: DirectionSource {
    public let seed: UInt64
    public let dimension: Int
    /// The k·D draws of `randn(k, D)`, row-major.
    let normals: [Float]

    public init(seed: UInt64, directions k: Int, dimension d: Int) {
        precondition(k * d >= 16, "torch.randn takes another path below 16 values")
        self.seed = seed
        dimension = d
        let n = k * d
        var generator = MersenneTwister(seed: UInt32(truncatingIfNeeded: seed))
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = generator.uniformFloat() }
        values.withUnsafeMutableBufferPointer { v in
            let base = v.baseAddress!
            for start in stride(from: 0, through: n - 16, by: 16) { Self.boxMuller16(base + start) }
            if n % 16 != 0 {
                for i in (n - 16)..<n { base[i] = generator.uniformFloat() }
                Self.boxMuller16(base + n - 16)
            }
        }
        normals = values
    }

    /// Refuses (`settings.torch_directions_too_large`) k × D float32 normals that would not fit in
    /// `available` bytes (MemAvailable; nil when unknown, which is not refused).
    static func requireFits(directions k: Int, dimension d: Int, available: Int?) throws(EstimatorError) {
        let (count, overflow) = k.multipliedReportingOverflow(by: d)
        let (bytes, overflowBytes) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        guard let available, overflow || overflowBytes || bytes > available else { return }
        let needed = overflow || overflowBytes ? "more than \(Int.max)" : "\(bytes) (\(MemoryBudget.format(bytes)))"
        throw EstimatorError(code: "settings.torch_directions_too_large",
                             "--directions-from torch draws all k × D = \(k) × \(d) normals up front: \(needed) bytes, but \(available) bytes (\(MemoryBudget.format(available))) are available (MemAvailable in /proc/meminfo); the default philox directions are streamed and need no such buffer, or use fewer directions")
    }

    /// u[0…15] → normals in place (pairs j, j + 8).
    private static func boxMuller16(_ u: UnsafeMutablePointer<Float>) {
        for j in 0..<8 {
            let radius = (-2 * log(1 - Double(u[j]))).squareRoot()
            let angle = 2 * Double.pi * Double(u[j + 8])
            u[j] = Float(radius * cos(angle))
            u[j + 8] = Float(radius * sin(angle))
        }
    }

    public func unitDirection(_ index: Int, into u: UnsafeMutableBufferPointer<Float>) {
        precondition(u.count == dimension, "buffer holds \(u.count) elements, dimension is \(dimension)")
        normals.withUnsafeBufferPointer { g in
            let row = g.baseAddress! + index * dimension
            let scale = 1 / DirectionWorker.norm(UnsafeBufferPointer(start: row, count: dimension))
            for j in 0..<dimension { u[j] = Float(Double(row[j]) * scale) }
        }
    }
}

/// MT19937 (Matsumoto & Nishimura), seeded as PyTorch's CPU generator and `init_genrand` seed it.
struct MersenneTwister {
    private var state = [UInt32](repeating: 0, count: 624)
    private var next = 624

    init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    mutating func nextUInt32() -> UInt32 {
        if next == 624 { twist() }
        var y = state[next]
        next += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    /// PyTorch's `uniform_real_distribution<float>(0, 1)`: 24 random bits scaled into [0, 1).
    mutating func uniformFloat() -> Float {
        Float(nextUInt32() & 0xFF_FFFF) * 0x1p-24
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            var value = state[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { value ^= 0x9908_B0DF }
            state[i] = value
        }
        next = 0
    }
}
