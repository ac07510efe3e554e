import Base
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

extension CheckpointJob {
    /// Reads a row of `columns`.
    init(row: Row) throws {
        let id = try row.decode(Int64.self, column: "id")
        let stateText = try row.decode(String.self, column: "state")
        guard let state = JobState(rawValue: stateText) else {
            throw DatabaseError(code: "db.decode", message: "job \(id) has an unknown state \"\(stateText)\"")
        }
        self.init(
            id: id,
            state: state,
            attempts: try row.decode(Int.self, column: "attempts"),
            maxAttempts: try row.decode(Int.self, column: "max_attempts"),
            errorCode: try row.decode(String?.self, column: "error_code"),
            lastError: try row.decode(String?.self, column: "last_error"),
            skipReasons: try Self.skipReasons(try row.decode(String?.self, column: "skip_reasons"), jobID: id),
            createdAt: try row.decode(Date.self, column: "created_at"),
            updatedAt: try row.decode(Date.self, column: "updated_at"),
            finishedAt: try row.decode(Date?.self, column: "finished_at"))
    }

    static let columns = """
        id, state, attempts, max_attempts, error_code, last_error, skip_reasons::text AS skip_reasons,
        created_at, updated_at, finished_at
        """

    /// `skip_reasons` (a JSON object of strings, as `JobQueue.complete` writes it; NULL before
    /// the job is done) as a dictionary.
    private static func skipReasons(_ text: String?, jobID: Int64) throws -> [String: String] {
        guard let text else { return [:] }
        let invalid = DatabaseError(code: "db.decode", message: "job \(jobID) has skip_reasons that are not a JSON object of strings")
        guard let object = (try? JSONValue.parse(text))?.objectValue else { throw invalid }
        var reasons: [String: String] = [:]
        for (name, reason) in object.entries {
            guard let reason = reason.stringValue else { throw invalid }
            reasons[name] = reason
        }
        return reasons
    }
}
