import Foundation
@testable import DB

/// Test data: runs, checkpoints, jobs and estimate records shaped like the daemon's.
enum Records {
    static func key(
        cutoff: Double = 0.01, preconditioner: String = "none", params: String = "", seed: Int64 = 0
    ) -> EstimateKey {
        EstimateKey(
            evalFingerprint: "eval-sha256:abc", cutoff: cutoff, preconditioner: preconditioner,
            preconditionerParams: params, prior: "gaussian", priorCenter: "zero", sigmaRule: "rms",
            directions: 3, seed: seed, tolerance: 0.01
        )
    }

    static func computed(
        cutoff: Double = 0.01, preconditioner: String = "none", params: String = "", seed: Int64 = 0,
        logVolume: Double = -1234.5
    ) -> EstimateRecord {
        EstimateRecord(
            key: key(cutoff: cutoff, preconditioner: preconditioner, params: params, seed: seed),
            sigma: 0.02,
            softwareVersion: "volumed 0.1.0",
            outcome: .computed(EstimateResult(
                logVolume: logVolume, log10Volume: logVolume / log(10), bits: logVolume / log(2),
                maxSample: logVolume + 0.5, ess: 1.25, intervalLow: logVolume - 2, intervalHigh: logVolume + 0.75,
                klEvaluations: 9, unbounded: 0, nonfinite: 1, seconds: 0.125, secondsPreconditioner: 0.0625,
                preconditionerRelativeStandardError: 0.03125,
                samples: [
                    SampleRecord(direction: 0, radius: 0.5, logEstimate: logVolume - 1, klEvaluations: 3),
                    SampleRecord(direction: 1, radius: 0.25, logEstimate: logVolume + 0.5, klEvaluations: 3),
                    SampleRecord(direction: 2, radius: 1e-300, logEstimate: -1e300, klEvaluations: 3),
                ]
            ))
        )
    }

    /// Uniform measure with an unbounded direction: an infinite volume.
    static func infinite() -> EstimateRecord {
        var key = key()
        key.prior = "uniform"
        return EstimateRecord(
            key: key, sigma: 0.02, softwareVersion: "volumed 0.1.0",
            outcome: .computed(EstimateResult(
                logVolume: nil, log10Volume: nil, bits: nil, maxSample: .infinity, ess: nil,
                intervalLow: nil, intervalHigh: nil, klEvaluations: 12, unbounded: 1, nonfinite: 0,
                seconds: 0.5, secondsPreconditioner: nil,
                samples: [
                    SampleRecord(direction: 0, radius: .infinity, logEstimate: .infinity, klEvaluations: 6),
                    SampleRecord(direction: 1, radius: 2.5, logEstimate: -40, klEvaluations: 6),
                ]
            ))
        )
    }

    static func skipped(preconditioner: String = "adam", params: String = "eps=0.001,exponent=0.5") -> EstimateRecord {
        EstimateRecord(
            key: key(preconditioner: preconditioner, params: params), sigma: 0.02,
            softwareVersion: "volumed 0.1.0",
            outcome: .skipped(reason: "no optimizer state (optimizer.pt missing)")
        )
    }

    /// A run and one checkpoint of it.
    static func checkpoint(
        _ store: ResultStore, run: String = "run-a", step: Int64? = 100, fingerprint: String = "fp-1"
    ) async throws -> CheckpointRecord {
        let runRecord = try await store.upsertRun(name: run, path: "/watch/\(run)")
        let stepName = step.map { "checkpoint-\($0)" } ?? "model"
        return try await store.upsertCheckpoint(
            runID: runRecord.id, step: step, path: "/watch/\(run)/\(stepName)", fingerprint: fingerprint
        ).checkpoint
    }

    static func settings(_ key: String = "k1") -> String {
        #"{"cutoffs": [0.01], "preconditioners": ["none", "adam"], "key": "\#(key)"}"#
    }

    /// Moves every running job's lease expiry into the past, as if its holder had stopped
    /// heartbeating long enough ago (deterministic, unlike sleeping past a short lease).
    static func expireLeases(_ connection: Connection) async throws {
        try await connection.execute(
            "UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE state = 'running'"
        )
    }
}
