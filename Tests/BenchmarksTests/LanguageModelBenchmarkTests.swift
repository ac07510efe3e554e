import Benchmarks
import Estimator
import Testing

@Suite struct LanguageModelBenchmarkTests {
    /// The `volumed bench` entry point runs end to end and reports what it measured (no timing
    /// thresholds: speed is for the benchmark's reader, not for tests).
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "the numerical code is too slow unoptimized (run with -c release)"))
    func benchmarkReportsItsMeasurements() throws {
        let report = try LanguageModelBenchmark.run(checkpointPath: Fixtures.path("neox-tiny/checkpoint-60"), threads: 2, seeds: 1, directions: 4)
        #expect(report.architecture == "gpt_neox" && report.parameters == 132_864)
        #expect(report.preconditioner == "adam:eps=0.001,exponent=0.5")
        #expect(report.secondsPerEstimate.count == 1 && report.secondsPerEstimate[0] > 0)
        #expect(report.medianKLEvaluationsPerDirection >= 1)
        #expect(report.flopsPerEvaluation == 125_960_192)
        #expect(report.forwardGFLOPS > 0 && report.sgemmGFLOPS > 0)
        #expect(report.weightBytes == 132_864 * 4)
        #expect(report.budget.bytes(of: MemoryBudget.anchorWeights) == report.weightBytes)
        #expect(report.budget.bytes(of: MemoryBudget.preconditioner) == report.weightBytes)  // adam's vector
        // float32 p over 512 positions × 256 tokens, one float64 sum per position
        #expect(report.budget.bytes(of: MemoryBudget.anchorDistribution) == 512 * 256 * 4 + 512 * 8)
        #expect(report.budget.bytes(of: MemoryBudget.workspace) > 0)
        #expect(report.peakMemoryBytes > 0)
        #expect(report.description.contains("KL evals / direction"))
    }

    @Test func refusesAModelThatIsNotALanguageModel() throws {
        let error = #expect(throws: BenchmarkError.self) {
            try LanguageModelBenchmark.run(checkpointPath: Fixtures.path("digits/checkpoint-100"), threads: 1, seeds: 1, directions: 2)
        }
        #expect(error?.code == "bench.not_language_model")
        #expect(error?.description.contains("digits/checkpoint-100") == true)
    }
}
