import Testing
@testable import Estimator

@Suite struct VectorActivationTests {
    /// Every activation against the scalar libm version on a dense grid (with a length that
    /// leaves a partial eight-lane tail).
    @Test(arguments: Activation.allCases)
    func matchesScalarActivation(activation: Activation) {
        let grid = (0..<24_003).map { Float($0 - 12_000) * 0.001 }
        var vector = grid, scalar = grid
        vector.withUnsafeMutableBufferPointer { activation.applyVectorized($0.baseAddress!, count: $0.count) }
        scalar.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
        var worst: Float = 0
        for i in grid.indices {
            worst = max(worst, abs(vector[i] - scalar[i]) / max(1, abs(grid[i])))
        }
        #expect(worst <= 4e-7, "\(activation): largest scaled difference \(worst)")
    }

    @Test(arguments: Activation.allCases)
    func propagatesNaN(activation: Activation) {
        var x: [Float] = [1, .nan, -2]
        x.withUnsafeMutableBufferPointer { activation.applyVectorized($0.baseAddress!, count: 3) }
        #expect(x[1].isNaN)
        #expect(x[0].isFinite && x[2].isFinite)
    }
}
