import Testing
@testable import Estimator

/// `fisher` and `hessian` end to end on the digits fixture, through `CheckpointEstimation`.
@Suite struct CurvaturePreconditionerTests {
    @Test func fisherAndHessianEstimateDigitsAndComputeCurvatureOnce() throws {
        var plan = EstimationPlan(preconditioners: [try PreconditionerSpec(parsing: "fisher"), try PreconditionerSpec(parsing: "hessian")])
        plan.settings.directions = 10
        plan.settings.cutoffs = [0.01, 0.1]
        let estimation = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-3000"), base: plan)
        let first = try estimation.run(threads: 2)
        let second = try estimation.reseeded(1).run(threads: 2)
        for (a, b) in zip(first, second) {
            guard case .estimated(let x) = a, case .estimated(let y) = b else {
                Issue.record("a curvature preconditioner did not run")
                continue
            }
            #expect(x.count == 2 && y.count == 2)
            for e in x + y {
                #expect(e.secondsPreconditioner > 0)
                #expect(e.aggregate.logVolume.map { $0.isFinite && $0 < 0 } == true)
            }
            // Every cutoff and the second seed report the one computation's wall time: it ran once.
            #expect(x[0].secondsPreconditioner == x[1].secondsPreconditioner)
            #expect(y[0].secondsPreconditioner == x[0].secondsPreconditioner)
            #expect(x[0].seed == 0 && y[0].seed == 1 && x[0].samples != y[0].samples)
        }
    }

    /// The issue's requirement: on digits/checkpoint-3000 (cutoff 1e-2, k = 100, 10 seeds) the
    /// exact Fisher diagonal's seed mean is above `none`'s by more than 3 standard errors.
    @Test func fisherIsClearlyAboveNoneOnDigits() throws {
        let rows = try PreconditionerComparison.run(
            checkpointPath: Fixtures.path("digits/checkpoint-3000"), seeds: 10, threads: 2,
            preconditioners: [.none, try PreconditionerSpec(parsing: "fisher")])
        let none = rows[0], fisher = rows[1]
        #expect(none.seeds == 10 && fisher.seeds == 10)
        let standardError = (none.standardError * none.standardError + fisher.standardError * fisher.standardError).squareRoot()
        let margin = fisher.meanLog10Volume - none.meanLog10Volume
        #expect(margin > 3 * standardError, "fisher − none = \(margin) log10, SE \(standardError)")
    }
}
