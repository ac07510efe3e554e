import Glibc
import Testing
@testable import Estimator

@Suite struct DirectionSamplerTests {
    private func direction(seed: UInt64, index: Int, dimension: Int) -> [Float] {
        let sampler = DirectionSampler(seed: seed, dimension: dimension)
        var u = [Float](repeating: .nan, count: dimension)
        u.withUnsafeMutableBufferPointer { sampler.unitDirection(index, into: $0) }
        return u
    }

    private func norm(_ u: [Float]) -> Double {
        u.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }

    // From an independent Python implementation (Philox4x32-10 and Box–Muller with math.log,
    // math.sin, math.cos on the angle q·π/2 + φ; see DirectionSampler.normals for the layout).
    @Test func matchesIndependentImplementation() {
        let first = direction(seed: 0, index: 0, dimension: 6)
        let expectedFirst = [0.029684140550099776, -0.8554916205705874, -0.4910558489078696,
                             0.06052491714941809, 0.012140525349502966, 0.14935338708907042]
        for (value, expected) in zip(first, expectedFirst) {
            #expect(abs(Double(value) - expected) <= 1e-7)
        }
        let second = direction(seed: 0x0123_4567_89AB_CDEF, index: 7, dimension: 5)
        let expectedSecond = [-0.9022265739200118, 0.4061303932585476, -0.0729570383074509,
                              -0.012199857250625562, 0.12479481971894718]
        for (value, expected) in zip(second, expectedSecond) {
            #expect(abs(Double(value) - expected) <= 1e-7)
        }
    }

    @Test func normalsMatchLibmBoxMuller() {
        // The vectorized sine/cosine and quarter-turn logic against libm, over many blocks.
        let philox = Philox(key: 99)
        var worst = 0.0
        for position in 0..<2000 as Range<UInt64> {
            let x = philox.block(stream: 3, position: position)
            let (g, _) = DirectionSampler.normals(x, x)
            for pair in 0..<2 {
                let radius = (-2 * log(Philox.openUniform(x[2 * pair]))).squareRoot()
                let word = x[2 * pair + 1]
                let phi = ((Double(word & 0x3FFF_FFFF) + 0.5) * 0x1p-30 - 0.5) * Double.pi / 2
                let angle = Double(word >> 30) * Double.pi / 2 + phi
                worst = max(worst, abs(g[2 * pair] - radius * cos(angle)),
                            abs(g[2 * pair + 1] - radius * sin(angle)))
            }
        }
        #expect(worst <= 1e-14)
    }

    @Test func hasUnitNormForEveryRemainder() {
        for dimension in [1, 2, 3, 4, 5, 7, 8, 9, 10, 1000, 12_345] {
            let u = direction(seed: 5, index: 3, dimension: dimension)
            #expect(abs(norm(u) - 1) <= 1e-6, "dimension \(dimension)")
        }
    }

    @Test func isReproducibleAndDependsOnSeedAndIndex() {
        let a = direction(seed: 11, index: 4, dimension: 257)
        #expect(direction(seed: 11, index: 4, dimension: 257) == a)
        #expect(direction(seed: 11, index: 5, dimension: 257) != a)
        #expect(direction(seed: 12, index: 4, dimension: 257) != a)
        // Any direction alone, in any order, on a fresh sampler: nothing is carried between them.
        let sampler = DirectionSampler(seed: 11, dimension: 257)
        var u = [Float](repeating: 0, count: 257)
        for index in [9, 0, 4] {
            u.withUnsafeMutableBufferPointer { sampler.unitDirection(index, into: $0) }
        }
        #expect(u == a)
    }

    @Test func elementsDependOnlyOnTheirPosition() {
        // The raw normal of element j is the same whatever D is, so directions of different
        // dimensions are proportional on their common prefix.
        let short = direction(seed: 8, index: 2, dimension: 9)
        let long = direction(seed: 8, index: 2, dimension: 1001)
        let ratio = Double(long[0]) / Double(short[0])
        for j in 0..<9 {
            #expect(abs(Double(long[j]) / Double(short[j]) - ratio) <= 1e-6 * abs(ratio))
        }
    }

    @Test func elementsAreStandardNormalAfterScaling() {
        let dimension = 1_000_000
        let u = direction(seed: 2024, index: 1, dimension: dimension)
        let scale = Double(dimension).squareRoot()
        var sum = 0.0, fourth = 0.0, withinOne = 0, withinTwo = 0, largest = 0.0
        for value in u {
            let z = Double(value) * scale
            sum += z
            fourth += z * z * z * z
            if abs(z) < 1 { withinOne += 1 }
            if abs(z) < 2 { withinTwo += 1 }
            largest = max(largest, abs(z))
        }
        let n = Double(dimension)
        // Standard errors: mean 1/√n = 0.001, E z⁴ ≈ √96/√n ≈ 0.01, proportions ≲ 0.0005.
        #expect(abs(sum / n) < 0.005)
        #expect(abs(fourth / n - 3) < 0.05)
        #expect(abs(Double(withinOne) / n - 0.682_689_49) < 0.0025)
        #expect(abs(Double(withinTwo) / n - 0.954_499_74) < 0.0015)
        // 32-bit uniforms cap |z| at √(−2 log 2^-33) ≈ 6.8.
        #expect(largest > 4 && largest < 6.8)
    }

    @Test func directionsAreNearlyOrthogonal() {
        let dimension = 100_000
        let a = direction(seed: 1, index: 0, dimension: dimension)
        let b = direction(seed: 1, index: 1, dimension: dimension)
        let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(dot) < 5 / Double(dimension).squareRoot())
    }

    @Test func zeroDimensionWritesNothing() {
        let sampler = DirectionSampler(seed: 1, dimension: 0)
        var empty: [Float] = []
        empty.withUnsafeMutableBufferPointer { sampler.unitDirection(0, into: $0) }
        #expect(empty.isEmpty)
    }
}
