import Testing
import Glibc
@testable import Estimator

/// Correctness anchors (a) and (b) (docs/estimator.md, "Correctness anchors"): quadratic costs whose volumes are known exactly.
@Suite struct AnalyticVolumeTests {
    /// (a) C = α‖θ−θ0‖², prior N(θ0, σ²I): every direction has the same radius, and the
    /// estimate is the log Gaussian mass of that ball, log P(χ²_D ≤ r²/σ²).
    @Test(arguments: [(10, 2.0), (1_000, 30.0), (100_000, 310.0)])
    func isotropicBasinGivesTheChiSquareMassOfTheBall(dimension: Int, targetRadius: Double) throws {
        let cutoff = 0.01, sigma = 1.0
        let alpha = cutoff / (targetRadius * targetRadius)
        let objective = QuadraticObjective(hessian: Array(repeating: 2 * alpha, count: dimension))
        for tolerance in [1e-2, 1e-9] {
            let settings = EstimateSettings(cutoffs: [cutoff], priorCenter: .anchor, sigma: .value(sigma),
                                            directions: 20, seed: 7, tolerance: tolerance)
            let estimator = try VolumeEstimator(objective: objective, anchor: Array(repeating: 0.5, count: dimension),
                                                settings: settings, threads: 2)
            let estimate = try estimator.estimate(preconditioner: .identity)[0]
            let radii = estimate.samples.map(\.radius)
            let r = radii[0]
            #expect(radii.allSatisfy { abs($0 / r - 1) <= 1e-12 })
            let ballMass = logRegularizedLowerGamma(Double(dimension) / 2, r * r / (2 * sigma * sigma))
            let logVolume = try #require(estimate.aggregate.logVolume)
            #expect(abs(logVolume - ballMass) <= 1e-6 * max(1, abs(ballMass)))
            if tolerance == 1e-9 {
                let trueMass = logRegularizedLowerGamma(Double(dimension) / 2, targetRadius * targetRadius / (2 * sigma * sigma))
                #expect(abs(logVolume - trueMass) <= 1e-6 * max(1, abs(trueMass)))
            }
        }
    }

    /// (b) C = ½ xᵀHx under the uniform measure with P ∝ H^−½: zero spread across directions
    /// and the exact ellipsoid volume log V_D + Σ ½ log(2ε/h_i).
    @Test(arguments: [10, 1_000, 100_000])
    func perfectPreconditionerGivesTheEllipsoidVolumeInEveryDirection(dimension: Int) throws {
        let cutoff = 0.01
        // Curvatures spread over four orders of magnitude.
        let hessian = (0..<dimension).map { i in pow(10, 4 * Double(i) / Double(max(1, dimension - 1)) - 2) }
        let objective = QuadraticObjective(hessian: hessian)
        let settings = EstimateSettings(cutoffs: [cutoff], prior: .uniform, directions: 20, seed: 3, tolerance: 1e-9)
        let estimator = try VolumeEstimator(objective: objective, anchor: Array(repeating: 0.1, count: dimension),
                                            settings: settings, threads: 2)
        let perfect = try Preconditioner.diagonal(try PreconditionerSpec(kind: .adam), hessian.map { 1 / $0.squareRoot() }, what: "H")
        let estimate = try estimator.estimate(preconditioner: perfect)[0]
        let samples = estimate.samples.map(\.logEstimate)
        let spread = samples.max()! - samples.min()!
        #expect(spread <= 1e-6 * abs(samples[0]))

        var sign: Int32 = 0
        let d = Double(dimension)
        let logUnitBall = d / 2 * log(Double.pi) - lgamma_r(d / 2 + 1, &sign)
        let exact = logUnitBall + hessian.reduce(0) { $0 + 0.5 * log(2 * cutoff / $1) }
        let logVolume = try #require(estimate.aggregate.logVolume)
        #expect(abs(logVolume - exact) <= 1e-6 * max(1, abs(exact)))
    }
}
