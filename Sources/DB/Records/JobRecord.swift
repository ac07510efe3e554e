import Foundation

/// Where a job is in its life: `queued` → `running` (leased) → `done`, or back to `queued`
/// after a failed attempt, or `failed` once its attempts are used up (until `retry`).
public enum JobState: String, Sendable, CaseIterable {
    case queued, running, done, failed
}

/// A row of `jobs`.
public struct JobRecord: Sendable, Equatable {
    public let id: Int64
    public let checkpointID: Int64
    /// The settings the enqueuer stored, as JSON text (PostgreSQL's `jsonb` normalizes it:
    /// key order and spacing may differ from what was enqueued).
    public let settings: String
    public let settingsKey: String
    /// What the enqueuer resolved for the checkpoint, as JSON text; nil when it gave none.
    public let plan: String?
    public let state: JobState
    public let attempts: Int
    public let maxAttempts: Int
    /// The worker holding the lease while running; the last holder afterwards.
    public let leaseOwner: String?
    public let leaseExpiresAt: Date?
    public let lastError: String?
    public let errorCode: String?
    /// JSON object `{"<preconditioner>": "<reason>"}` of skipped preconditioners, once done.
    public let skipReasons: String?
    public let createdAt: Date
    public let updatedAt: Date
    public let finishedAt: Date?
    /// The shard of its estimate (0-based) of `shards`, its directions, and its attempt's progress.
    public let shard: Int
    public let shards: Int
    public let firstDirection: Int
    public let directionCount: Int?
    public let directionsDone: Int
    public let directionsTotal: Int?

    init(row: Row) throws {
        id = try row.decode(Int64.self, column: "id")
        checkpointID = try row.decode(Int64.self, column: "checkpoint_id")
        settings = try row.decode(String.self, column: "settings")
        settingsKey = try row.decode(String.self, column: "settings_key")
        plan = try row.decode(String?.self, column: "plan")
        let stateText = try row.decode(String.self, column: "state")
        guard let state = JobState(rawValue: stateText) else {
            throw DatabaseError(code: "db.decode", message: "job \(id) has an unknown state \"\(stateText)\"")
        }
        self.state = state
        attempts = try row.decode(Int.self, column: "attempts")
        maxAttempts = try row.decode(Int.self, column: "max_attempts")
        leaseOwner = try row.decode(String?.self, column: "lease_owner")
        leaseExpiresAt = try row.decode(Date?.self, column: "lease_expires_at")
        lastError = try row.decode(String?.self, column: "last_error")
        errorCode = try row.decode(String?.self, column: "error_code")
        skipReasons = try row.decode(String?.self, column: "skip_reasons")
        createdAt = try row.decode(Date.self, column: "created_at")
        updatedAt = try row.decode(Date.self, column: "updated_at")
        finishedAt = try row.decode(Date?.self, column: "finished_at")
        shard = try row.decode(Int.self, column: "shard")
        shards = try row.decode(Int.self, column: "shards")
        firstDirection = try row.decode(Int.self, column: "first_direction")
        directionCount = try row.decode(Int?.self, column: "direction_count")
        directionsDone = try row.decode(Int.self, column: "directions_done")
        directionsTotal = try row.decode(Int?.self, column: "directions_total")
    }

    static let columns = """
        id, checkpoint_id, settings::text AS settings, settings_key, plan::text AS plan, state, attempts, max_attempts,
        lease_owner, lease_expires_at, last_error, error_code, skip_reasons::text AS skip_reasons,
        created_at, updated_at, finished_at, shard, shards, first_direction, direction_count, directions_done,
        directions_total
        """
}
