import Benchmarks
import Estimator
import Testing

@Suite struct VisionBenchmarkTests {
    /// The vision section runs end to end on the small ConvNeXt V2 and reports what it measured
    /// (no timing thresholds).
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "the numerical code is too slow unoptimized (run with -c release)"))
    func benchmarkReportsItsMeasurements() throws {
        let report = try VisionBenchmark.run(checkpointPath: Fixtures.path("vision/convnextv2-small/checkpoint-240"),
                                             evalPath: Fixtures.path("vision/digits32_eval.safetensors"), images: 16,
                                             threads: 2, directions: 2, rounds: 1)
        #expect(report.architecture == "convnextv2" && report.parameters == 17_770 && report.images == 16)
        #expect(report.secondsPerEvaluation > 0 && report.flopsPerEvaluation > 0)
        #expect(report.evaluationGFLOPS > 0 && report.sgemmGFLOPS > 0)
        #expect(report.secondsPerEstimate.count == 1 && report.medianKLEvaluationsPerDirection >= 1)
        #expect(report.description.contains("KL evals / direction") && report.description.contains("% of sgemm"))
    }

    @Test func refusesAModelThatIsNotAVisionModel() throws {
        let error = #expect(throws: BenchmarkError.self) {
            try VisionBenchmark.run(checkpointPath: Fixtures.path("neox-tiny/checkpoint-60"),
                                    evalPath: Fixtures.path("vision/digits32_eval.safetensors"), threads: 1)
        }
        #expect(error?.code == "bench.not_vision_model")
    }
}
