import Testing
@testable import Estimator

/// Reverse mode for vision models against central finite differences of the float64 tape
/// forward, on tiny random networks of every family (all parameters checked).
@Suite struct VisionBackwardTests {
    static func pass(_ model: TinyVisionModel, _ pixels: Tensor<Float>, threads: Int = 2) throws -> VisionBackwardPass<Double> {
        try VisionBackwardPass<Double>(structure: model.structure, theta: model.theta, pixels: pixels, threads: threads)
    }

    /// ∂logits_{n,·}/∂θ_i for every i by central differences: [D][images·classes].
    static func numericJacobian(_ model: TinyVisionModel, _ pixels: Tensor<Float>, h: Double = 1e-5) -> [[Double]] {
        model.theta.indices.map { i in
            var plus = model.theta, minus = model.theta
            plus[i] += h
            minus[i] -= h
            return zip(model.logits(plus, pixels: pixels), model.logits(minus, pixels: pixels)).map { ($0 - $1) / (2 * h) }
        }
    }

    @Test(arguments: TinyVisionModel.Family.allCases)
    func gradientMatchesFiniteDifferences(_ family: TinyVisionModel.Family) throws {
        let model = TinyVisionModel(family, seed: 7)
        let images = 5
        let pixels = model.pixels(images: images, seed: 8)
        let pass = try Self.pass(model, pixels)
        #expect(pass.examples == images && pass.dimension == model.layout.count)
        var random = TestRandom(seed: 9)
        let w = (0..<(images * 3)).map { _ in random.symmetric() }
        var sum = [Double](repeating: 0, count: pass.dimension)
        sum.withUnsafeMutableBufferPointer { pass.pullback(examples: 0..<images, cotangents: w, sum: $0.baseAddress!, squares: nil) }
        let jacobian = Self.numericJacobian(model, pixels)
        let scale = sum.map(abs).max()!
        #expect(scale > 0.1)
        var worst = 0.0
        for i in sum.indices {
            let numeric = zip(jacobian[i], w).reduce(0) { $0 + $1.0 * $1.1 }
            worst = max(worst, abs(numeric - sum[i]))
            #expect(abs(numeric - sum[i]) <= 1e-6 * scale, "\(family) \(model.layout.parameters.first { $0.range.contains(i) }!.name)[\(i)]: \(sum[i]) vs \(numeric)")
        }
        #expect(worst / scale < 1e-6)
    }

    @Test(arguments: TinyVisionModel.Family.allCases)
    func squaresAndRowsArePerImage(_ family: TinyVisionModel.Family) throws {
        let model = TinyVisionModel(family, seed: 17)
        let images = 11  // two chunks, the second partial
        let pixels = model.pixels(images: images, seed: 18)
        let pass = try Self.pass(model, pixels)
        let d = pass.dimension
        var random = TestRandom(seed: 19)
        let g = (0..<(images * 3)).map { _ in random.symmetric() }
        var rows = [Double](repeating: .nan, count: 9 * d)
        // A range that starts and ends inside chunks.
        let range = 1..<10
        g.withUnsafeBufferPointer { g in
            rows.withUnsafeMutableBufferPointer { pass.jacobianRows(examples: range, cotangents: g.baseAddress! + 3, into: $0.baseAddress!) }
        }
        var sum = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
        g.withUnsafeBufferPointer { g in
            pass.pullback(examples: range, cotangents: g.baseAddress! + 3, sum: &sum, squares: &squares)
        }
        for i in 0..<d {
            let column = (0..<9).map { rows[$0 * d + i] }
            #expect(abs(column.reduce(0, +) - sum[i]) <= 1e-12 * max(1, abs(sum[i])))
            #expect(abs(column.reduce(0) { $0 + $1 * $1 } - squares[i]) <= 1e-12 * max(1, squares[i]))
        }
        // Row r is image r's own pullback.
        var single = [Double](repeating: 0, count: d)
        g.withUnsafeBufferPointer { g in
            pass.pullback(examples: 4..<5, cotangents: g.baseAddress! + 4 * 3, sum: &single, squares: nil)
        }
        for i in 0..<d { #expect(abs(single[i] - rows[3 * d + i]) <= 1e-12 * max(1, abs(single[i]))) }
    }

    @Test func resultsDoNotDependOnTheThreadCount() throws {
        let model = TinyVisionModel(.convnextv2, seed: 27)
        let pixels = model.pixels(images: 40, seed: 28)
        let theta = model.theta.map { Float($0) }
        let one = try VisionBackwardPass<Float>(structure: model.structure, theta: theta, pixels: pixels, threads: 1)
        let three = try VisionBackwardPass<Float>(structure: model.structure, theta: theta, pixels: pixels, threads: 3)
        #expect(one.logits == three.logits)
        let a = FisherDiagonal(one, method: .exact), b = FisherDiagonal(three, method: .exact)
        #expect(a.values == b.values)
    }

    /// The Gauss-Newton matrix (1/N)·Σ_n J_nᵀ(diag p − ppᵀ)J_n with J from finite differences.
    @Test(arguments: [TinyVisionModel.Family.convnextv2, .resnetBottleneck])
    func gaussNewtonAndFisherMatchTheFiniteDifferenceJacobian(_ family: TinyVisionModel.Family) throws {
        let model = TinyVisionModel(family, seed: 37)
        let images = 6
        let pixels = model.pixels(images: images, seed: 38)
        let pass = try Self.pass(model, pixels)
        let d = pass.dimension
        let h = try GaussNewton.matrix(pass, examplesPerBlock: 4)
        let fisher = FisherDiagonal(pass, method: .exact)
        let jacobian = Self.numericJacobian(model, pixels)
        let p = pass.anchor.probabilities
        let classes = 3
        var scale = 0.0
        for i in 0..<d { scale = max(scale, abs(h[i * d + i])) }
        #expect(scale > 0)
        for i in stride(from: 0, to: d, by: 7) {
            for j in stride(from: i, to: d, by: 13) {
                var reference = 0.0
                for n in 0..<images {
                    for a in 0..<classes {
                        for b in 0..<classes {
                            let pa = p[n * classes + a], pb = p[n * classes + b]
                            let m = (a == b ? pa : 0) - pa * pb
                            reference += jacobian[i][n * classes + a] * m * jacobian[j][n * classes + b]
                        }
                    }
                }
                reference /= Double(images)
                #expect(abs(h[i * d + j] - reference) <= 1e-6 * scale, "H[\(i), \(j)]: \(h[i * d + j]) vs \(reference)")
                #expect(h[i * d + j] == h[j * d + i])
            }
        }
        for i in 0..<d {
            #expect(fisher.values[i] >= 0)
            #expect(abs(fisher.values[i] - h[i * d + i]) <= 1e-12 * scale)
        }
    }
}
