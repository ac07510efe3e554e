import Testing
@testable import Estimator

@Suite struct GaussNewtonTests {
    /// At the anchor the KL's Hessian is the Gauss-Newton matrix: compare every entry with
    /// central finite differences of the float64 KL on a small smooth MLP.
    @Test(arguments: [Activation.tanh, .gelu])
    func matrixEqualsFiniteDifferenceHessianOfTheKL(activation: Activation) throws {
        let model = try InMemoryTensors.randomMLP([4, 6, 5, 3], activation: activation, scale: 1.2, seed: 51)
        let inputs = InMemoryTensors.randomInputs(rows: 10, columns: 4, seed: 52)
        let pass = try MLPBackwardPass<Double>(model: model, inputs: inputs)
        let h = try GaussNewton.matrix(pass)
        let d = pass.dimension
        #expect(d == 83)
        let reference = Float64Reference(model: model, inputs: inputs)
        let theta = model.anchor.map(Double.init)
        let step = 1e-4
        let scale = h.map(abs).max()!
        for i in 0..<d {
            for j in i..<d {
                func kl(_ si: Double, _ sj: Double) -> Double {
                    var t = theta
                    t[i] += si * step
                    t[j] += sj * step
                    return reference.kl(t)
                }
                let numeric = (kl(1, 1) - kl(1, -1) - kl(-1, 1) + kl(-1, -1)) / (4 * step * step)
                #expect(abs(numeric - h[i * d + j]) <= 1e-6 * scale, "H[\(i), \(j)] = \(h[i * d + j]) vs \(numeric)")
                #expect(h[i * d + j] == h[j * d + i])
            }
        }
        // Built in blocks of 3 examples, the sum is the same.
        let blocked = try GaussNewton.matrix(pass, examplesPerBlock: 3)
        #expect(zip(blocked, h).allSatisfy { abs($0 - $1) <= 1e-12 * scale })
    }

    @Test func diagonalIsTheFisherDiagonal() throws {
        let (model, inputs) = try MLPTests.digits(3000)
        let h = try model.gaussNewton(data: .features(inputs))
        let fisher = try model.fisherDiagonal(data: .features(inputs))
        let d = model.layout.count
        let scale = fisher.values.max()!
        for i in 0..<d {
            #expect(abs(Double(h[i * d + i]) - fisher.values[i]) <= 1e-4 * fisher.values[i] + 1e-7 * scale)
        }
    }

    @Test func refusesModelsAboveTheSizeLimit() throws {
        let model = try InMemoryTensors.randomMLP([200, 101, 3], activation: .relu, seed: 61)
        let pass = try MLPBackwardPass<Float>(model: model, inputs: InMemoryTensors.randomInputs(rows: 2, columns: 200, seed: 62))
        #expect(pass.dimension == 20_607)
        let error = try #require(throws: EstimatorError.self) { try GaussNewton.matrix(pass) }
        #expect(error.code == "curvature.too_large")
        #expect(error.description.contains("D ≤ 20000") && error.description.contains("D = 20607"))
    }
}
