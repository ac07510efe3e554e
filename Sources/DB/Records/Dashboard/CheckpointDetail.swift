import Foundation

/// Everything the checkpoint page shows: the checkpoint and its run, the other versions of
/// its step, every estimate (computed with samples, and skipped), and its jobs.
public struct CheckpointDetail: Sendable, Equatable {
    public var checkpoint: CheckpointRecord
    public var run: RunRecord
    /// The run's other checkpoints with the same step (other contents), oldest first.
    public var otherVersions: [CheckpointRecord]
    /// Oldest first; skipped ones carry their reason in `record.outcome`.
    public var estimates: [StoredEstimate]
    /// Oldest first.
    public var jobs: [CheckpointJob]

    public init(checkpoint: CheckpointRecord, run: RunRecord, otherVersions: [CheckpointRecord],
                estimates: [StoredEstimate], jobs: [CheckpointJob]) {
        self.checkpoint = checkpoint
        self.run = run
        self.otherVersions = otherVersions
        self.estimates = estimates
        self.jobs = jobs
    }
}

/// A job of one checkpoint as the checkpoint page shows it: its state, its error, the
/// preconditioners it skipped and why.
public struct CheckpointJob: Sendable, Equatable {
    public var id: Int64
    public var state: JobState
    public var attempts: Int
    public var maxAttempts: Int
    public var errorCode: String?
    public var lastError: String?
    /// Preconditioner (with parameters, as users write it) → why it was skipped.
    public var skipReasons: [String: String]
    public var createdAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?

    public init(id: Int64, state: JobState, attempts: Int, maxAttempts: Int, errorCode: String?, lastError: String?,
                skipReasons: [String: String], createdAt: Date, updatedAt: Date, finishedAt: Date?) {
        self.id = id
        self.state = state
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.errorCode = errorCode
        self.lastError = lastError
        self.skipReasons = skipReasons
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
    }
}
