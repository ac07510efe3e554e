import Testing
import Glibc
@testable import Estimator

@Suite struct HessianPreconditionerTests {
    /// A random symmetric matrix with eigenvalues `values` (float64, [n, n] row-major).
    static func symmetric(eigenvalues values: [Double], seed: UInt64) throws -> [Double] {
        let n = values.count
        var random = TestRandom(seed: seed)
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                let x = random.normal()
                a[i * n + j] = x
                a[j * n + i] = x
            }
        }
        let q = try SymmetricEigen(symmetric: a, dimension: n).vectors  // a random orthogonal basis
        var h = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for k in 0..<n { s += q[i * n + k] * values[k] * q[j * n + k] }
                h[i * n + j] = s
            }
        }
        // Exactly symmetric.
        for i in 0..<n { for j in 0..<i { h[i * n + j] = h[j * n + i] } }
        return h
    }

    @Test func eigendecompositionReconstructsTheMatrix() throws {
        let n = 40
        let values = (0..<n).map { Double($0) - 10 }
        let a = try Self.symmetric(eigenvalues: values, seed: 71)
        let double = try SymmetricEigen(symmetric: a, dimension: n)
        let single = try SymmetricEigen(symmetric: a.map(Float.init), dimension: n)
        #expect(zip(double.values, values).allSatisfy { abs($0 - $1) <= 1e-12 * 30 })
        #expect(zip(single.values, values).allSatisfy { abs(Double($0) - $1) <= 1e-5 * 30 })
        for i in 0..<n {
            for j in 0..<n {
                var reconstructed = 0.0, gram = 0.0
                for k in 0..<n {
                    reconstructed += Double(single.vectors[i * n + k]) * Double(single.values[k]) * Double(single.vectors[j * n + k])
                    gram += Double(single.vectors[k * n + i]) * Double(single.vectors[k * n + j])
                }
                #expect(abs(reconstructed - a[i * n + j]) <= 1e-4)
                #expect(abs(gram - (i == j ? 1 : 0)) <= 1e-5)
            }
        }
    }

    /// Correctness anchor (b) (docs/estimator.md, "Correctness anchors") for the dense form: C = ½ xᵀHx under the uniform measure,
    /// `hessian` with eps = 0 built from H by the production path (float32 H, ssyevd, rotation
    /// back), gives the same log-estimate in every direction and the exact ellipsoid volume.
    /// (ssyevd's eigenvalues are accurate to about ulp·λ_max, so the spread grows with the
    /// condition number: about 5e-7 relative here at 10², about 1e-5 at 10⁴.)
    @Test(arguments: [10, 200])
    func hessianWithoutEpsGivesZeroSpreadOnAQuadratic(dimension: Int) throws {
        let cutoff = 0.01
        // Curvatures spread over two orders of magnitude.
        let values = (0..<dimension).map { i in pow(10, 2 * Double(i) / Double(dimension - 1) - 1) }
        let h = try Self.symmetric(eigenvalues: values, seed: 81).map(Float.init)
        let objective = DenseQuadraticObjective(hessian: h.map(Double.init), dimension: dimension)
        let settings = EstimateSettings(cutoffs: [cutoff], prior: .uniform, directions: 20, seed: 5, tolerance: 1e-9)
        let estimator = try VolumeEstimator(objective: objective, anchor: Array(repeating: 0.1, count: dimension),
                                            settings: settings, threads: 2)
        let spec = try PreconditionerSpec(parsing: "hessian:eps=0")
        let preconditioner = try Preconditioner.hessian(spec, try SymmetricEigen(symmetric: h, dimension: dimension))
        let estimate = try estimator.estimate(preconditioner: preconditioner)[0]
        let samples = estimate.samples.map(\.logEstimate)
        let spread = samples.max()! - samples.min()!
        #expect(spread <= 1e-6 * abs(samples[0]), "spread \(spread) of \(samples[0])")

        // The exact volume of {½ xᵀHx ≤ ε}: log V_D + Σ ½ log(2ε/λ_i), λ of the float32 H.
        let exactValues = try SymmetricEigen(symmetric: h.map(Double.init), dimension: dimension).values
        var sign: Int32 = 0
        let d = Double(dimension)
        let exact = d / 2 * log(Double.pi) - lgamma_r(d / 2 + 1, &sign) + exactValues.reduce(0) { $0 + 0.5 * log(2 * cutoff / $1) }
        let logVolume = try #require(estimate.aggregate.logVolume)
        #expect(abs(logVolume - exact) <= 1e-6 * max(1, abs(exact)), "\(logVolume) vs \(exact)")
    }

    @Test func singularMatrixWithoutEpsIsAClearError() throws {
        var values = (0..<20).map { Double($0 + 1) }
        values[3] = 0
        let h = try Self.symmetric(eigenvalues: values, seed: 91).map(Float.init)
        let eigen = try SymmetricEigen(symmetric: h, dimension: 20)
        let error = try #require(throws: EstimatorError.self) {
            try Preconditioner.hessian(try PreconditionerSpec(parsing: "hessian:eps=0"), eigen)
        }
        #expect(error.code == "preconditioner.degenerate")
        #expect(error.description.contains("singular") && error.description.contains("1 of 20"))
        // With the default eps the flat direction gets the largest scale, and P has unit determinant.
        let p = try Preconditioner.hessian(try PreconditionerSpec(kind: .hessian), eigen)
        guard case .eigen(_, let scales) = p.form else {
            Issue.record("not the eigen form")
            return
        }
        #expect(scales.max() == scales[0])
        #expect(abs(scales.reduce(0) { $0 + log(Double($1)) }) <= 1e-5)
    }
}
