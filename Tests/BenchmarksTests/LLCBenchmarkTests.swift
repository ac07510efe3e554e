import Benchmarks
import Estimator
import Testing

@Suite struct LLCBenchmarkTests {
    /// `volumed bench`'s LLC section measures both fixtures (no timing thresholds: speed is for
    /// the benchmark's reader, not for tests).
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "the numerical code is too slow unoptimized (run with -c release)"))
    func measuresSecondsPerDrawOnBothFixtures() throws {
        let repository = RepositoryFolder.sourceTree
        let rows = try LLCBenchmark.run(repository: repository, reference: nil, threads: 2, repetitions: 1, draws: 3)
        #expect(rows.map(\.name) == ["digits-3000", "neox-tiny-60"])
        for row in rows {
            #expect(row.secondsPerDraw > 0 && row.llcMean.isFinite, "\(row.name)")
            #expect(row.speedUp == nil)
        }
    }
}
