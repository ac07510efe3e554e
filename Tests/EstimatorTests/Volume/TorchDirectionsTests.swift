import Testing
@testable import Estimator

@Suite struct TorchDirectionsTests {
    /// The reference values of MT19937 (10000th output for the default seed 5489) and of
    /// `torch.manual_seed(0); torch.rand(1)` (0.4963).
    @Test func mersenneTwisterMatchesTheReferenceStream() {
        var standard = MersenneTwister(seed: 5489)
        var last: UInt32 = 0
        for _ in 0..<10_000 { last = standard.nextUInt32() }
        #expect(last == 4_123_659_995)
        var torch = MersenneTwister(seed: 0)
        #expect(abs(torch.uniformFloat() - 0.496_256_6) < 1e-6)
    }

    /// `torch.manual_seed(0); torch.randn(4, 4)`, as PyTorch prints it (4 decimals).
    @Test func drawsTorchRandnForSeedZero() {
        let expected: [Float] = [-1.1258, -1.1524, -0.2506, -0.4339, 0.8487, 0.6920, -0.3160, -2.1152,
                                 0.3223, -1.2633, 0.3500, 0.3081, 0.1198, 1.2377, 1.1168, -0.2473]
        let directions = TorchDirections(seed: 0, directions: 1, dimension: 16)
        var u = [Float](repeating: 0, count: 16)
        u.withUnsafeMutableBufferPointer { directions.unitDirection(0, into: $0) }
        let norm = expected.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        for (x, e) in zip(u, expected) { #expect(abs(Double(x) * norm - Double(e)) < 2e-4) }
    }

    /// With 20 values the last 16 are drawn again: the first 4 stay those of randn(16), the
    /// rest come from uniforms 20…35.
    @Test func redrawsTheLastSixteenWhenSixteenDoesNotDivide() {
        let sixteen = TorchDirections(seed: 3, directions: 1, dimension: 16).normals
        let twenty = TorchDirections(seed: 3, directions: 2, dimension: 10).normals
        #expect(Array(twenty[0..<4]) == Array(sixteen[0..<4]))
        #expect(Array(twenty[4..<16]) != Array(sixteen[4..<16]))
        #expect(twenty.allSatisfy { $0.isFinite })
    }

    /// Rows of one `randn(k, D)` call: direction i is row i, normalized.
    @Test func directionsAreNormalizedRows() {
        let directions = TorchDirections(seed: 7, directions: 3, dimension: 40)
        var u = [Float](repeating: 0, count: 40)
        u.withUnsafeMutableBufferPointer { directions.unitDirection(2, into: $0) }
        let row = directions.normals[80..<120]
        let norm = row.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot()
        for (x, g) in zip(u, row) { #expect(abs(Double(x) - Double(g) / norm) < 1e-7) }
        #expect(abs(u.reduce(0) { $0 + Double($1) * Double($1) } - 1) < 1e-6)
    }
}
