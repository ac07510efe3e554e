import Testing
import Glibc
@testable import Estimator

/// `adam-m` (and `adam`) end to end: a digits estimate through `CheckpointEstimation` equals the
/// estimate with the diagonal computed in this test from optimizer.pt's raw moments and the
/// formula, run through the same volume estimator.
@Suite struct AdamEstimateTests {
    typealias Case = DiagonalPreconditionerTests.Case

    @Test(arguments: [Case(spec: "adam-m", eps: 1e-3, exponent: 0.5), Case(spec: "adam-m:eps=1e-2,exponent=1", eps: 1e-2, exponent: 1),
                      Case(spec: "adam", eps: 1e-3, exponent: 0.5)])
    func digitsEstimateEqualsTheOneFromTheFormulaOnOptimizerMoments(_ c: Case) throws {
        let checkpoint = "digits/checkpoint-3000"
        let spec = try PreconditionerSpec(parsing: c.spec)
        var plan = EstimationPlan(preconditioners: [spec])
        plan.settings.directions = 20
        plan.settings.cutoffs = [0.01, 0.1]
        let estimation = try CheckpointEstimation(path: Fixtures.path(checkpoint), base: plan)
        guard case .estimated(let estimates) = try estimation.run(threads: 2)[0] else {
            Issue.record("\(c.spec) did not run")
            return
        }

        let raw = try RawAdamState.digits(checkpoint)
        let source = spec.kind == .adam ? raw.expAvgSq : raw.expAvg
        let diagonal = DiagonalFormula.expected(source, eps: c.eps, exponent: c.exponent).map { Float($0) }
        let estimator = try VolumeEstimator(objective: estimation.objective, anchor: estimation.model.anchor,
                                            settings: estimation.plan.settings, threads: 2)
        let expected = try estimator.estimate(preconditioner: Preconditioner(spec: spec, form: .diagonal(diagonal)))

        try #require(estimates.count == 2 && expected.count == 2)
        for (estimate, reference) in zip(estimates, expected) {
            #expect(estimate.preconditioner == spec)
            #expect(estimate.samples.count == 20)
            let logVolume = try #require(estimate.aggregate.logVolume)
            let expectedLogVolume = try #require(reference.aggregate.logVolume)
            #expect(logVolume.isFinite && logVolume < 0)
            // The same diagonal to float32 rounding: the same radii up to the search's reaction
            // to a last-bit change in the direction.
            #expect(abs(logVolume - expectedLogVolume) <= 1e-9 * abs(expectedLogVolume),
                    "cutoff \(estimate.cutoff): \(logVolume) vs \(expectedLogVolume)")
            for (a, b) in zip(estimate.samples, reference.samples) {
                #expect(abs(a.logEstimate - b.logEstimate) <= 1e-9 * abs(b.logEstimate),
                        "cutoff \(estimate.cutoff), direction \(a.direction): \(a.logEstimate) vs \(b.logEstimate)")
            }
        }
    }
}
