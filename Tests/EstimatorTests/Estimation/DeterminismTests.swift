import Testing
@testable import Estimator

@Suite struct DeterminismTests {
    /// `hessian` included: its directions are preconditioned in blocks of GEMMs up front.
    @Test func sameSeedGivesIdenticalResultsOnOneAndTwoThreads() throws {
        var plan = EstimationPlan(preconditioners: [.none, try PreconditionerSpec(parsing: "adam"),
                                                    try PreconditionerSpec(parsing: "hessian")])
        plan.settings.cutoffs = [0.01, 0.1]
        plan.settings.directions = 40
        plan.settings.seed = 11
        let estimation = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-3000"), base: plan)
        let one = try estimation.run(threads: 1)
        let two = try estimation.run(threads: 2)
        let three = try estimation.run(threads: 3)
        #expect(one.count == 3)
        for (a, (b, c)) in zip(one, zip(two, three)) {
            guard case .estimated(let x) = a, case .estimated(let y) = b, case .estimated(let z) = c else {
                Issue.record("a preconditioner was skipped")
                continue
            }
            for (p, (q, r)) in zip(x, zip(y, z)) {
                #expect(p.samples == q.samples && q.samples == r.samples)
                #expect(p.aggregate == q.aggregate && q.aggregate == r.aggregate)
                #expect(p.klEvaluations == q.klEvaluations)
            }
        }
    }

    @Test func differentSeedsDrawDifferentDirections() throws {
        var plan = EstimationPlan(preconditioners: [.none])
        plan.settings.directions = 5
        let a = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-100"), base: plan).run(threads: 2)
        plan.settings.seed = 1
        let b = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-100"), base: plan).run(threads: 2)
        guard case .estimated(let x) = a[0], case .estimated(let y) = b[0] else { return }
        #expect(x[0].samples.map(\.radius) != y[0].samples.map(\.radius))
    }
}
