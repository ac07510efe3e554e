import Testing
@testable import Estimator

@Suite struct LanguageModelBenchmarkTests {
    /// 2·m·n·k per matrix product over the 8 × 64 eval tokens, plus causal attention
    /// (64·65/2 query–key pairs per row and head, for scores and for values), counted by hand.
    @Test func countsForwardPassFLOPs() throws {
        let neox = try LanguageModelFixtures.model("neox-tiny/checkpoint-60")
        let tokens = 512, pairs = 8 * 64 * 65 / 2
        let neoxLayer = 2 * tokens * 64 * (192 + 64 + 256 + 256) + 4 * pairs * 4 * 16
        #expect(neox.flopsPerForwardPass(rows: 8, length: 64) == 2 * neoxLayer + 2 * tokens * 64 * 256)
        #expect(neox.flopsPerForwardPass(rows: 8, length: 64) == 125_960_192)

        let llama = try LanguageModelFixtures.model("llama-tiny/checkpoint-150")
        let llamaLayer = 2 * tokens * 48 * (48 + 24 + 24 + 48 + 3 * 128) + 4 * pairs * 4 * 12
        #expect(llama.flopsPerForwardPass(rows: 8, length: 64) == 2 * llamaLayer + 2 * tokens * 48 * 256)
    }

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
        #expect(report.memoryBoundBytes == report.weightBytes * 6 + report.batchActivationBytes)
        #expect(report.memoryBudgetBytes == report.weightBytes * 4 + 2 * report.evaluatorBytesPerWorker + report.anchorDistributionBytes)
        // float32 p over 512 positions × 256 tokens, one float64 sum per position
        #expect(report.anchorDistributionBytes == 512 * 256 * 4 + 512 * 8)
        #expect(report.peakMemoryBytes > 0)
        #expect(report.description.contains("KL evals / direction"))
    }
}
