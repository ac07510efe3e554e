import Testing
@testable import Estimator

/// Reverse mode against central finite differences of the float64 forward pass.
@Suite struct BackwardPassTests {
    /// L(θ) = Σ_n Σ_c w_{n,c}·logits_{n,c}(θ): its gradient is the pullback of w.
    static func linearFunctional(_ reference: Float64Reference, _ weights: [Double], _ theta: [Double]) -> Double {
        zip(reference.logits(theta), weights).reduce(0) { $0 + $1.0 * $1.1 }
    }

    static func gradient(_ pass: MLPBackwardPass<Double>, cotangents: [Double]) -> [Double] {
        var sum = [Double](repeating: 0, count: pass.dimension)
        sum.withUnsafeMutableBufferPointer {
            pass.pullback(examples: 0..<pass.examples, cotangents: cotangents, sum: $0.baseAddress!, squares: nil)
        }
        return sum
    }

    @Test(arguments: Activation.allCases)
    func gradientMatchesFiniteDifferencesOnASmallMLP(activation: Activation) throws {
        let model = try InMemoryTensors.randomMLP([5, 7, 6, 3], activation: activation, seed: 11)
        let inputs = InMemoryTensors.randomInputs(rows: 9, columns: 5, seed: 12)
        let pass = try MLPBackwardPass<Double>(model: model, inputs: inputs)
        let reference = Float64Reference(model: model, inputs: inputs)
        var random = TestRandom(seed: 13)
        let w = (0..<(9 * 3)).map { _ in random.symmetric() }
        let analytic = Self.gradient(pass, cotangents: w)
        #expect(analytic.count == 5 * 7 + 7 + 7 * 6 + 6 + 6 * 3 + 3)

        let h = 1e-5
        let theta = model.anchor.map(Double.init)
        let scale = analytic.map(abs).max()!
        for i in theta.indices {
            var plus = theta, minus = theta
            plus[i] += h
            minus[i] -= h
            let numeric = (Self.linearFunctional(reference, w, plus) - Self.linearFunctional(reference, w, minus)) / (2 * h)
            #expect(abs(numeric - analytic[i]) <= 1e-7 * scale, "\(activation) parameter \(i): \(analytic[i]) vs \(numeric)")
        }
    }

    @Test func gradientMatchesFiniteDifferencesOnDigits() throws {
        let (model, inputs) = try MLPTests.digits(3000)
        let pass = try MLPBackwardPass<Double>(model: model, inputs: inputs)
        let reference = Float64Reference(model: model, inputs: inputs)
        var random = TestRandom(seed: 21)
        let w = (0..<(773 * 10)).map { _ in random.symmetric() }
        let analytic = Self.gradient(pass, cotangents: w)
        let scale = analytic.map(abs).max()!
        let theta = model.anchor.map(Double.init)
        // Every bias and output weight, and a spread of first-layer weights.
        let checked = Array(4096..<4810) + stride(from: 0, to: 4096, by: 7)
        let h = 1e-6
        for i in checked {
            var plus = theta, minus = theta
            plus[i] += h
            minus[i] -= h
            let numeric = (Self.linearFunctional(reference, w, plus) - Self.linearFunctional(reference, w, minus)) / (2 * h)
            #expect(abs(numeric - analytic[i]) <= 1e-6 * scale, "parameter \(i): \(analytic[i]) vs \(numeric)")
        }
    }

    /// The per-example squares of one pullback equal the squares of the per-example gradients
    /// (Jacobian rows) summed, and the sum equals the rows summed: not (Σ_n g_n)².
    @Test func perExampleSquaresAreSquaresOfJacobianRows() throws {
        let model = try InMemoryTensors.randomMLP([4, 6, 5, 3], activation: .gelu, seed: 31)
        let inputs = InMemoryTensors.randomInputs(rows: 8, columns: 4, seed: 32)
        let pass = try MLPBackwardPass<Double>(model: model, inputs: inputs)
        var random = TestRandom(seed: 33)
        let g = (0..<(8 * 3)).map { _ in random.symmetric() }
        let d = pass.dimension
        var sum = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
        var rows = [Double](repeating: .nan, count: 8 * d)
        sum.withUnsafeMutableBufferPointer { s in
            squares.withUnsafeMutableBufferPointer { q in
                pass.pullback(examples: 0..<8, cotangents: g, sum: s.baseAddress!, squares: q.baseAddress!)
            }
        }
        rows.withUnsafeMutableBufferPointer { pass.jacobianRows(examples: 0..<8, cotangents: g, into: $0.baseAddress!) }
        for i in 0..<d {
            let column = (0..<8).map { rows[$0 * d + i] }
            #expect(abs(column.reduce(0, +) - sum[i]) <= 1e-12)
            #expect(abs(column.reduce(0) { $0 + $1 * $1 } - squares[i]) <= 1e-12)
        }
        // A block of examples pulls back the same rows as the whole batch does.
        var block = [Double](repeating: .nan, count: 3 * d)
        block.withUnsafeMutableBufferPointer {
            pass.jacobianRows(examples: 2..<5, cotangents: Array(g[6..<15]), into: $0.baseAddress!)
        }
        #expect(block == Array(rows[(2 * d)..<(5 * d)]))
    }

    @Test func float32PassAgreesWithFloat64() throws {
        let (model, inputs) = try MLPTests.digits(3000)
        let single = try MLPBackwardPass<Float>(model: model, inputs: inputs)
        let double = try MLPBackwardPass<Double>(model: model, inputs: inputs)
        var random = TestRandom(seed: 41)
        let w = (0..<(773 * 10)).map { _ in random.symmetric() }
        var s32 = [Float](repeating: 0, count: single.dimension)
        s32.withUnsafeMutableBufferPointer {
            single.pullback(examples: 0..<773, cotangents: w.map(Float.init), sum: $0.baseAddress!, squares: nil)
        }
        let s64 = BackwardPassTests.gradient(double, cotangents: w)
        let scale = s64.map(abs).max()!
        #expect(zip(s32, s64).allSatisfy { abs(Double($0) - $1) <= 1e-5 * scale })
    }
}
