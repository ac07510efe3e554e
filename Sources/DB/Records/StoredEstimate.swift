import Foundation

/// An estimate read back from the database, with its samples (in direction order).
public struct StoredEstimate: Sendable, Equatable {
    public let id: Int64
    public let checkpointID: Int64
    /// The job that inserted it (nil once that job was deleted).
    public let jobID: Int64?
    public let record: EstimateRecord
    public let createdAt: Date
}

extension StoredEstimate {
    init(row: Row, samples: [SampleRecord]) throws {
        id = try row.decode(Int64.self, column: "id")
        checkpointID = try row.decode(Int64.self, column: "checkpoint_id")
        jobID = try row.decode(Int64?.self, column: "job_id")
        createdAt = try row.decode(Date.self, column: "created_at")
        let outcome: EstimateRecord.Outcome
        if let reason = try row.decode(String?.self, column: "skipped") {
            outcome = .skipped(reason: reason)
        } else {
            outcome = .computed(EstimateResult(
                logVolume: try row.decode(Double?.self, column: "log_volume"),
                log10Volume: try row.decode(Double?.self, column: "log10_volume"),
                bits: try row.decode(Double?.self, column: "bits"),
                maxSample: try row.decode(Double.self, column: "max_sample"),
                ess: try row.decode(Double?.self, column: "ess"),
                intervalLow: try row.decode(Double?.self, column: "interval_low"),
                intervalHigh: try row.decode(Double?.self, column: "interval_high"),
                klEvaluations: try row.decode(Int64.self, column: "kl_evaluations"),
                unbounded: try row.decode(Int.self, column: "unbounded"),
                nonfinite: try row.decode(Int.self, column: "nonfinite"),
                seconds: try row.decode(Double.self, column: "seconds"),
                secondsPreconditioner: try row.decode(Double?.self, column: "seconds_preconditioner"),
                preconditionerRelativeStandardError: try row.decode(Double?.self, column: "preconditioner_rse"),
                samples: samples
            ))
        }
        record = EstimateRecord(
            key: try EstimateKey(row: row),
            sigma: try row.decode(Double?.self, column: "sigma"),
            softwareVersion: try row.decode(String.self, column: "software_version"),
            outcome: outcome
        )
    }
}
