import Testing
@testable import Estimator

/// A sharded estimate runs direction 0, then sub-ranges of the directions anywhere, and
/// aggregates at the end: every number but the wall time equals one whole estimate's.
@Suite struct ShardedDirectionsTests {
    /// Held directions (neox-tiny's size) and streamed ones (the threshold lowered to 0).
    @Test(arguments: [PreconditionerSpec.none, .adam], [VolumeEstimator.streamingDimension, 0])
    func shardsOfAnyRangeAndThreadCountAggregateToTheWholeEstimate(_ spec: PreconditionerSpec, streamingDimension: Int) throws {
        let plan = EstimationPlan(settings: EstimateSettings(cutoffs: [0.1, 0.01], directions: 9, seed: 3), preconditioners: [spec])
        let estimation = try CheckpointEstimation(path: Fixtures.path("neox-tiny/checkpoint-60"), base: plan)
        guard case .success(let preconditioner) = try estimation.preconditioner(spec) else {
            Issue.record("no \(spec) preconditioner")
            return
        }
        let whole = try VolumeEstimator(objective: estimation.objective, anchor: estimation.model.anchor,
                                        settings: plan.settings, threads: 2, streamingDimension: streamingDimension).estimate(preconditioner: preconditioner)

        let oneThread = try VolumeEstimator(objective: estimation.objective, anchor: estimation.model.anchor,
                                            settings: plan.settings, threads: 1, streamingDimension: streamingDimension)
        let first = oneThread.firstDirection(preconditioner: preconditioner)
        var outcomes: [DirectionOutcome] = []
        // Uneven shards, the one holding direction 0 last.
        for range in [4..<9, 1..<4, 0..<1] {
            outcomes = try oneThread.directions(range, preconditioner: preconditioner, first: first) + outcomes
        }
        let sharded = oneThread.estimates(preconditioner: preconditioner, outcomes: outcomes, seconds: 0)

        #expect(sharded.count == 2)
        for (a, b) in zip(whole, sharded) {
            #expect(a.cutoff == b.cutoff)
            #expect(a.samples == b.samples)
            #expect(a.aggregate.logVolume == b.aggregate.logVolume)
            #expect(a.aggregate.interval == b.aggregate.interval)
            #expect(a.aggregate.ess == b.aggregate.ess)
            #expect(a.klEvaluations == b.klEvaluations && a.nonfinite == b.nonfinite && a.unbounded == b.unbounded)
        }
        #expect(whole[0].samples.map(\.direction) == Array(0..<9))
    }
}
