import Foundation

/// A job whose last attempt failed (`volumed status`): still being retried (`queued`) or out
/// of attempts (`failed`), with the error it recorded.
public struct JobFailure: Sendable, Equatable {
    public let jobID: Int64
    public let state: JobState
    public let runID: Int64
    public let run: String
    public let checkpointID: Int64
    public let step: Int64?
    public let checkpointPath: String
    public let attempts: Int
    public let maxAttempts: Int
    public let errorCode: String?
    public let lastError: String
    public let updatedAt: Date

    public init(jobID: Int64, state: JobState, runID: Int64, run: String, checkpointID: Int64, step: Int64?,
                checkpointPath: String, attempts: Int, maxAttempts: Int, errorCode: String?, lastError: String,
                updatedAt: Date) {
        self.jobID = jobID
        self.state = state
        self.runID = runID
        self.run = run
        self.checkpointID = checkpointID
        self.step = step
        self.checkpointPath = checkpointPath
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.errorCode = errorCode
        self.lastError = lastError
        self.updatedAt = updatedAt
    }

    init(row: Row) throws {
        jobID = try row.decode(Int64.self, column: "job_id")
        let stateText = try row.decode(String.self, column: "state")
        guard let state = JobState(rawValue: stateText) else {
            throw DatabaseError(code: "db.decode", message: "job \(jobID) has an unknown state \"\(stateText)\"")
        }
        self.state = state
        runID = try row.decode(Int64.self, column: "run_id")
        run = try row.decode(String.self, column: "run")
        checkpointID = try row.decode(Int64.self, column: "checkpoint_id")
        step = try row.decode(Int64?.self, column: "step")
        checkpointPath = try row.decode(String.self, column: "checkpoint_path")
        attempts = try row.decode(Int.self, column: "attempts")
        maxAttempts = try row.decode(Int.self, column: "max_attempts")
        errorCode = try row.decode(String?.self, column: "error_code")
        lastError = try row.decode(String.self, column: "last_error")
        updatedAt = try row.decode(Date.self, column: "updated_at")
    }

    /// Jobs whose last attempt failed, most recent first, with their run and checkpoint;
    /// `$1` is the limit. The shards of one estimate that failed the same way (bad input fails
    /// them all) are one entry: the first such shard (`volumed retry` of it re-queues them all).
    static let recentQuery = """
        SELECT * FROM (
            SELECT DISTINCT ON (j.checkpoint_id, j.settings_key, j.state, j.error_code, j.last_error)
                   j.id AS job_id, j.state, r.id AS run_id, r.name AS run, c.id AS checkpoint_id, c.step,
                   c.path AS checkpoint_path,
                   j.attempts, j.max_attempts, j.error_code, j.last_error, j.updated_at
            FROM jobs j
            JOIN checkpoints c ON c.id = j.checkpoint_id
            JOIN runs r ON r.id = c.run_id
            WHERE j.state = 'failed' OR (j.state = 'queued' AND j.last_error IS NOT NULL)
            ORDER BY j.checkpoint_id, j.settings_key, j.state, j.error_code, j.last_error, j.id
        ) AS f
        ORDER BY f.updated_at DESC, f.job_id DESC
        LIMIT $1
        """
}
