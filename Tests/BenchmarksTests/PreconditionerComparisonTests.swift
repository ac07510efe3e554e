import Benchmarks
import Estimator
import Testing

@Suite struct PreconditionerComparisonTests {
    /// The curvature preconditioners' requirement: on digits/checkpoint-3000 (cutoff 1e-2,
    /// k = 100, 10 seeds) the exact Fisher diagonal's seed mean is above `none`'s by more than
    /// 3 standard errors (larger is more accurate: the estimate is a lower bound).
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

    /// A preconditioner the checkpoint cannot run is reported as skipped, with its reason, next
    /// to the ones that ran.
    @Test func reportsASkippedPreconditionerWithItsReason() throws {
        let rows = try PreconditionerComparison.run(
            checkpointPath: Fixtures.path("digits/checkpoint-0"), seeds: 2, threads: 1,
            preconditioners: [.none, .adam], directions: 4)
        #expect(rows.map(\.preconditioner) == [.none, .adam])
        #expect(rows[0].skipReason == nil && rows[0].seeds == 2 && rows[0].meanLog10Volume.isFinite)
        #expect(rows[1].skipReason == "no Adam state in optimizer.pt (step 0)" && rows[1].seeds == 0)
    }
}
