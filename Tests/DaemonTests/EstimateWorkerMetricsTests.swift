import Dashboard
import DB
import Testing
@testable import Daemon

@Suite struct EstimateWorkerMetricsTests {
    private func record(_ preconditioner: String, cutoff: Double, evaluations: Int64, seconds: Double) -> EstimateRecord {
        let key = EstimateKey(evalFingerprint: "e", cutoff: cutoff, preconditioner: preconditioner, preconditionerParams: "",
                              prior: "gaussian", priorCenter: "zero", sigmaRule: "rms", directions: 4, seed: 0, tolerance: 0.01)
        let result = EstimateResult(logVolume: -10, log10Volume: -4.3, bits: -14.4, maxSample: 1, ess: 3, intervalLow: -11,
                                    intervalHigh: -9, klEvaluations: evaluations, unbounded: 0, nonfinite: 0, seconds: seconds,
                                    secondsPreconditioner: nil, samples: [])
        return EstimateRecord(key: key, sigma: 0.1, softwareVersion: "0.1.0", outcome: .computed(result))
    }

    /// `count` directions whose searches took `evaluations` KL evaluations by the first cutoff
    /// and one more by the second.
    private func searched(_ preconditioner: String, directions count: Int, evaluations: Int) -> ShardResult {
        ShardResult(preconditioner: preconditioner, preconditionerParams: "", outcome: .computed(
            seconds: 1, directions: (0..<count).map { d in
                ShardDirection(direction: d, samples: [
                    ShardSample(cutoff: 0.01, radius: 1, logEstimate: -1, klEvaluations: evaluations),
                    ShardSample(cutoff: 0.1, radius: 2, logEstimate: -1, klEvaluations: evaluations + 1),
                ], nonfinite: 0, exponent: 2)
            }))
    }

    @Test func countsAShardsEstimatesAndEachRaySearchsEvaluationsOnce() {
        let metrics = DaemonMetrics(version: "test")
        let skipped = EstimateRecord(key: record("adam", cutoff: 0.01, evaluations: 0, seconds: 0).key, sigma: nil,
                                     softwareVersion: "0.1.0", outcome: .skipped(reason: "no optimizer state"))
        EstimateWorker.record([
            record("none", cutoff: 0.01, evaluations: 120, seconds: 2), record("none", cutoff: 0.1, evaluations: 120, seconds: 2),
            record("fisher", cutoff: 0.01, evaluations: 80, seconds: 30), skipped,
        ], searched: [
            // A search serves both cutoffs: its evaluations count once (the larger count).
            searched("none", directions: 40, evaluations: 2), searched("fisher", directions: 20, evaluations: 3),
            ShardResult(preconditioner: "adam", preconditionerParams: "", outcome: .skipped(reason: "no optimizer state")),
        ], in: metrics)
        let text = String(decoding: metrics.exposition(), as: UTF8.self)
        #expect(text.contains("volumed_jobs_completed_total 1\n"))
        #expect(text.contains("volumed_estimates_computed_total 3\n"))
        #expect(text.contains("volumed_kl_evaluations_total 200\n"))
        #expect(text.contains("volumed_estimate_seconds_bucket{le=\"3.0\"} 2\n"))
        #expect(text.contains("volumed_estimate_seconds_bucket{le=\"30.0\"} 3\n"))
        #expect(text.contains("volumed_estimate_seconds_sum 34.0\n"))
    }
}
