/// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror & Shaw, "Parallel random
/// numbers: as easy as 1, 2, 3" (SC 2011). `block(_:)` is a keyed bijection of a 128-bit counter,
/// so any block of any stream is computed directly: results never depend on which thread draws
/// what, or in which order.
public struct Philox: Sendable, Hashable {
    public let key0: UInt32
    public let key1: UInt32

    public init(key: UInt64) {
        key0 = UInt32(truncatingIfNeeded: key)
        key1 = UInt32(truncatingIfNeeded: key >> 32)
    }

    /// Ten rounds on `counter` (words in Random123's order: counter[0] is `v[0]`).
    @inlinable @inline(__always)
    public func block(_ counter: SIMD4<UInt32>) -> SIMD4<UInt32> {
        var c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3]
        var k0 = key0, k1 = key1
        for round in 0..<10 {
            if round > 0 {
                k0 &+= 0x9E37_79B9  // golden ratio
                k1 &+= 0xBB67_AE85  // √3 − 1
            }
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return SIMD4(c0, c1, c2, c3)
    }

    /// Block `position` of stream `stream`: the low counter words hold the position, the high
    /// words the stream, so distinct streams never share a counter.
    @inlinable @inline(__always)
    public func block(stream: UInt64, position: UInt64) -> SIMD4<UInt32> {
        block(SIMD4(UInt32(truncatingIfNeeded: position), UInt32(truncatingIfNeeded: position >> 32),
                    UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)))
    }
}

extension Philox {
    /// Streams below 2^63 belong to directions (the stream is the direction's index); streams with
    /// the top bit set are for the estimator's other draws, so those never reuse a direction's numbers.
    public static let auxiliaryStreams: UInt64 = 1 << 63

    /// The stream of bootstrap resampling draws.
    public static let bootstrapStream: UInt64 = auxiliaryStreams | 1

    /// A uniform in the open interval (0, 1) from 32 random bits: the midpoint of one of 2^32
    /// equal cells, so it is never 0 (a logarithm stays finite) and never 1.
    @inlinable
    public static func openUniform(_ bits: UInt32) -> Double {
        (Double(bits) + 0.5) * 0x1p-32
    }
}
