#if canImport(Glibc)
import Glibc
#endif

/// Rotary position embedding in transformers' rotate-half (non-interleaved) form, applied to the
/// first `dimensions` values of every query and key head; the rest of the head passes through.
struct RotaryEmbedding: Sendable, Equatable {
    let dimensions: Int
    /// θ in inv_freq = 1 / θ^(2i / dimensions).
    let base: Double

    var half: Int { dimensions / 2 }

    /// cos and sin of position × inv_freq for positions 0..<length, each [length, dimensions/2],
    /// in float32 as transformers computes them.
    func tables(length: Int) -> (cos: [Float], sin: [Float]) {
        var cosines = [Float](repeating: 1, count: length * half)
        var sines = [Float](repeating: 0, count: length * half)
        for i in 0..<half {
            let inverseFrequency = 1 / powf(Float(base), Float(2 * i) / Float(dimensions))
            for position in 0..<length {
                let angle = Float(position) * inverseFrequency
                cosines[position * half + i] = cosf(angle)
                sines[position * half + i] = sinf(angle)
            }
        }
        return (cosines, sines)
    }

    /// x[0..<half], x[half..<2·half] ← x₁·cos − x₂·sin, x₂·cos + x₁·sin (= x·cos + rotate_half(x)·sin).
    @inline(__always)
    static func rotate(_ x: UnsafeMutablePointer<Float>, half: Int, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>) {
        for i in 0..<half {
            let a = x[i], b = x[i + half]
            x[i] = a * cos[i] - b * sin[i]
            x[i + half] = b * cos[i] + a * sin[i]
        }
    }
}
