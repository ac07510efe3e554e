import Foundation

/// The durable job queue in the `jobs` table.
///
/// Workers `claim` jobs (`SELECT … FOR UPDATE SKIP LOCKED`, so concurrent workers never get
/// the same job), hold a lease they extend with `heartbeat`, and finish with `complete`
/// (results and completion in one transaction), `fail` (re-queued until `max_attempts`, then
/// `failed`, keeping the error) or `release` (graceful shutdown; not counted as an attempt).
/// A worker that vanishes stops heartbeating: once its lease expires the next `claim` takes the
/// job over (or marks it `failed` if that was its last attempt).
///
/// Every operation is safe to retry after a lost connection; `Connection` does so.
/// Use one `JobQueue` (one `Connection`) per concurrent worker.
public struct JobQueue: Sendable {
    public let connection: Connection

    /// Channel notified (payload: the checkpoint id) when a job's results commit.
    public static let notificationChannel = "volumed_estimates"

    /// Error code recorded on a job whose worker stopped heartbeating on its last attempt.
    public static let leaseExpiredCode = "db.lease_expired"

    public init(connection: Connection) {
        self.connection = connection
    }

    // MARK: Enqueueing

    /// Adds a job for `checkpointID` under `settingsKey` unless one exists; returns the job and
    /// whether this call created it. `settings` and `plan` (what the enqueuer resolved for the
    /// checkpoint; not part of the job's identity) are JSON text, stored as `jsonb`.
    public func enqueue(
        checkpointID: Int64,
        settings: String,
        settingsKey: String,
        plan: String? = nil,
        maxAttempts: Int = 3
    ) async throws -> (job: JobRecord, inserted: Bool) {
        try await connection.transaction(idempotent: true) { transaction in
            let inserted = try transaction.query(
                """
                INSERT INTO jobs (checkpoint_id, settings, settings_key, plan, max_attempts)
                VALUES ($1, $2::jsonb, $3, $4::jsonb, $5)
                ON CONFLICT ON CONSTRAINT jobs_identity DO NOTHING
                RETURNING \(JobRecord.columns)
                """,
                [checkpointID, settings, settingsKey, plan, maxAttempts]
            )
            if let row = inserted.first { return (try JobRecord(row: row), true) }
            // A separate statement takes a fresh snapshot, so it sees a job a concurrent
            // enqueuer committed while our insert waited on it.
            let existing = try transaction.query(
                "SELECT \(JobRecord.columns) FROM jobs WHERE checkpoint_id = $1 AND settings_key = $2",
                [checkpointID, settingsKey]
            )
            guard let row = existing.first else {
                throw DatabaseError(code: "db.not_found", message: "job for checkpoint \(checkpointID) and settings \(settingsKey) vanished while enqueueing")
            }
            return (try JobRecord(row: row), false)
        }
    }

    // MARK: Leases

    /// Leases the oldest claimable job to `owner` for `leaseSeconds`: a queued job, or a
    /// running one whose lease has expired. Returns nil when there is none.
    ///
    /// A job found with an expired lease on its last attempt is marked `failed`
    /// (`db.lease_expired`) instead. If the connection drops while claiming, the claim may have
    /// happened unseen; its lease then simply expires.
    public func claim(owner: String, leaseSeconds: Double) async throws -> ClaimedJob? {
        try await connection.withRawSession(idempotent: true) { session in
            while true {
                let rows = try session.execute(Self.claimStatement, [owner, leaseSeconds]).rows
                guard let row = rows.first else { return nil }
                if try row.decode(Bool.self, column: "exhausted") { continue }
                return try ClaimedJob(
                    id: row.decode(Int64.self, column: "id"),
                    owner: owner,
                    attempt: row.decode(Int.self, column: "attempts"),
                    maxAttempts: row.decode(Int.self, column: "max_attempts"),
                    leaseExpiresAt: row.decode(Date.self, column: "lease_expires_at"),
                    settings: row.decode(String.self, column: "settings"),
                    settingsKey: row.decode(String.self, column: "settings_key"),
                    plan: row.decode(String?.self, column: "plan"),
                    checkpoint: CheckpointRecord(row: row, prefix: "c_"),
                    run: RunRecord(row: row, prefix: "r_")
                )
            }
        }
    }

    /// One statement (one round trip): pick, lease and describe the job.
    private static let claimStatement = """
        WITH candidate AS (
            SELECT id, (state = 'running' AND attempts >= max_attempts) AS exhausted
            FROM jobs
            WHERE state IN ('queued', 'running') AND (state = 'queued' OR lease_expires_at < now())
            ORDER BY id
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        ), leased AS (
            UPDATE jobs AS j SET
                state = CASE WHEN candidate.exhausted THEN 'failed' ELSE 'running' END,
                attempts = j.attempts + CASE WHEN candidate.exhausted THEN 0 ELSE 1 END,
                lease_owner = CASE WHEN candidate.exhausted THEN j.lease_owner ELSE $1 END,
                lease_expires_at = CASE WHEN candidate.exhausted THEN NULL
                                        ELSE now() + make_interval(secs => $2::float8) END,
                error_code = CASE WHEN candidate.exhausted THEN '\(leaseExpiredCode)' ELSE j.error_code END,
                last_error = CASE WHEN candidate.exhausted
                    THEN format('the lease of %s expired on attempt %s of %s (worker lost?)',
                                j.lease_owner, j.attempts, j.max_attempts)
                    ELSE j.last_error END,
                finished_at = CASE WHEN candidate.exhausted THEN now() ELSE NULL END,
                updated_at = now()
            FROM candidate
            WHERE j.id = candidate.id
            RETURNING j.id, j.checkpoint_id, j.settings, j.settings_key, j.plan, j.attempts, j.max_attempts,
                      j.lease_expires_at, candidate.exhausted
        )
        SELECT leased.id, leased.settings::text AS settings, leased.settings_key, leased.plan::text AS plan, leased.attempts,
               leased.max_attempts, leased.lease_expires_at, leased.exhausted,
               \(CheckpointRecord.selectList(from: "c", prefix: "c_")),
               \(RunRecord.selectList(from: "r", prefix: "r_"))
        FROM leased
        JOIN checkpoints AS c ON c.id = leased.checkpoint_id
        JOIN runs AS r ON r.id = c.run_id
        """

    /// Extends the lease to `leaseSeconds` from now; returns the new expiry. Throws
    /// `db.lease_lost` if the job is no longer leased to this worker (a lease that expired but
    /// was not taken over is still held).
    @discardableResult
    public func heartbeat(_ job: ClaimedJob, leaseSeconds: Double) async throws -> Date {
        try await connection.transaction(idempotent: true) { transaction in
            let rows = try transaction.query(
                """
                UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $4::float8), updated_at = now()
                WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running'
                RETURNING lease_expires_at
                """,
                [job.id, job.owner, job.attempt, leaseSeconds]
            )
            guard let row = rows.first else { throw try Self.leaseLost(job, transaction) }
            return try row.decode(Date.self, column: "lease_expires_at")
        }
    }

    /// Stores the job's results and marks it done, in one transaction, only while `job`'s
    /// lease is held; then notifies `volumed_estimates` with the checkpoint id.
    ///
    /// Estimates already stored under the same key (e.g. by another job) are left as they are
    /// (`ON CONFLICT DO NOTHING`); returns how many rows this call inserted. Skipped
    /// preconditioners are summarized in the job's `skip_reasons`.
    @discardableResult
    public func complete(_ job: ClaimedJob, estimates: [EstimateRecord]) async throws -> Int {
        try await connection.transaction(idempotent: true) { transaction in
            switch try Self.lockLease(job, transaction) {
            case .held: break
            case .alreadyFinished(.done): return 0  // a retried commit that had succeeded
            case .alreadyFinished, .released, .lost: throw try Self.leaseLost(job, transaction)
            }
            var inserted = 0
            for estimate in estimates {
                if try Self.insert(estimate, checkpointID: job.checkpoint.id, jobID: job.id, transaction) {
                    inserted += 1
                }
            }
            var skippedNames: [String] = []
            var skippedReasons: [String] = []
            for estimate in estimates {
                guard case .skipped(let reason) = estimate.outcome else { continue }
                skippedNames.append(estimate.key.preconditionerName)
                skippedReasons.append(reason)
            }
            try transaction.execute(
                """
                UPDATE jobs SET state = 'done', lease_expires_at = NULL, finished_at = now(), updated_at = now(),
                       skip_reasons = (SELECT jsonb_object_agg(name, reason)
                                       FROM unnest($2::text[], $3::text[]) AS s(name, reason))
                WHERE id = $1
                """,
                [job.id, skippedNames, skippedReasons]
            )
            try transaction.execute(
                "SELECT pg_notify($1, $2)",
                [Self.notificationChannel, String(job.checkpoint.id)]
            )
            return inserted
        }
    }

    /// Records a failed attempt: `code` and `message` are kept on the job; it is re-queued
    /// while attempts remain and `retryable`, else it becomes `failed`. Returns the new state.
    @discardableResult
    public func fail(_ job: ClaimedJob, code: String, message: String, retryable: Bool = true) async throws -> JobState {
        try await connection.transaction(idempotent: true) { transaction in
            switch try Self.lockLease(job, transaction) {
            case .held: break
            case .alreadyFinished(let state) where state != .done:
                // A retried commit that had succeeded: the row carries this very failure.
                let same = try transaction.query(
                    "SELECT 1 FROM jobs WHERE id = $1 AND error_code = $2 AND last_error = $3",
                    [job.id, code, message]
                )
                if same.isEmpty { throw try Self.leaseLost(job, transaction) }
                return state
            case .alreadyFinished, .released, .lost: throw try Self.leaseLost(job, transaction)
            }
            let rows = try transaction.query(
                """
                UPDATE jobs SET
                    state = CASE WHEN $2 AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
                    lease_expires_at = NULL,
                    error_code = $3,
                    last_error = $4,
                    finished_at = CASE WHEN $2 AND attempts < max_attempts THEN NULL ELSE now() END,
                    updated_at = now()
                WHERE id = $1
                RETURNING state
                """,
                [job.id, retryable, code, message]
            )
            let state = try rows.first?.decode(String.self, column: "state")
            return state.flatMap(JobState.init(rawValue:)) ?? .failed
        }
    }

    /// Gives the job back to the queue without counting the attempt (graceful shutdown).
    public func release(_ job: ClaimedJob) async throws {
        try await connection.transaction(idempotent: true) { transaction in
            switch try Self.lockLease(job, transaction) {
            case .held:
                try transaction.execute(
                    """
                    UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_expires_at = NULL,
                           updated_at = now()
                    WHERE id = $1
                    """,
                    [job.id]
                )
            case .released:
                return  // a retried commit that had succeeded
            case .alreadyFinished, .lost:
                throw try Self.leaseLost(job, transaction)
            }
        }
    }

    /// Re-queues the given jobs if they are `failed` (attempts start over); returns the ids
    /// re-queued (others were not failed).
    public func retry(jobIDs: [Int64]) async throws -> [Int64] {
        try await connection.query(
            """
            UPDATE jobs SET state = 'queued', attempts = 0, lease_expires_at = NULL, finished_at = NULL,
                   updated_at = now()
            WHERE state = 'failed' AND id = ANY($1::bigint[])
            RETURNING id
            """,
            [jobIDs]
        ).map { try $0.decode(Int64.self, column: "id") }.sorted()
    }

    /// Re-queues every `failed` job; returns their ids.
    public func retryAllFailed() async throws -> [Int64] {
        try await connection.query(
            """
            UPDATE jobs SET state = 'queued', attempts = 0, lease_expires_at = NULL, finished_at = NULL,
                   updated_at = now()
            WHERE state = 'failed'
            RETURNING id
            """
        ).map { try $0.decode(Int64.self, column: "id") }.sorted()
    }

    /// The job's current row, or nil if there is none.
    public func job(id: Int64) async throws -> JobRecord? {
        try await connection.query("SELECT \(JobRecord.columns) FROM jobs WHERE id = $1", [id], idempotent: true)
            .first.map(JobRecord.init(row:))
    }

    // MARK: Lease checks

    private enum LeaseStatus {
        /// Running under this lease.
        case held
        /// This lease ended in `state` (done, queued after `fail`, failed).
        case alreadyFinished(JobState)
        /// Queued again by `release` of this lease.
        case released
        /// Someone else holds or held it since.
        case lost
    }

    /// Locks the job's row and says whether `job`'s lease is still on it.
    private static func lockLease(_ job: ClaimedJob, _ transaction: Transaction) throws -> LeaseStatus {
        let rows = try transaction.query(
            "SELECT state, lease_owner, attempts FROM jobs WHERE id = $1 FOR UPDATE",
            [job.id]
        )
        guard let row = rows.first else {
            throw DatabaseError(code: "db.not_found", message: "job \(job.id) does not exist")
        }
        let state = JobState(rawValue: try row.decode(String.self, column: "state"))
        let owner = try row.decode(String?.self, column: "lease_owner")
        let attempts = try row.decode(Int.self, column: "attempts")
        guard owner == job.owner, let state else { return .lost }
        if attempts == job.attempt {
            return state == .running ? .held : .alreadyFinished(state)
        }
        if attempts == job.attempt - 1, state == .queued { return .released }
        return .lost
    }

    private static func leaseLost(_ job: ClaimedJob, _ transaction: Transaction) throws -> DatabaseError {
        let rows = try transaction.query("SELECT state, lease_owner, attempts FROM jobs WHERE id = $1", [job.id])
        guard let row = rows.first else {
            return DatabaseError(code: "db.not_found", message: "job \(job.id) does not exist")
        }
        let state = try row.decode(String.self, column: "state")
        let owner = try row.decode(String?.self, column: "lease_owner") ?? "nobody"
        let attempts = try row.decode(Int.self, column: "attempts")
        return DatabaseError.leaseLost(
            job: job.id, owner: job.owner,
            "it is \(state), attempt \(attempts), last leased to \(owner) (this lease was attempt \(job.attempt))"
        )
    }

    // MARK: Results

    /// Inserts one estimate (and its samples) unless its key exists; true if inserted.
    static func insert(
        _ estimate: EstimateRecord,
        checkpointID: Int64,
        jobID: Int64?,
        _ transaction: Transaction
    ) throws -> Bool {
        let columns = ["checkpoint_id", "job_id"] + EstimateRecord.columnNames
        let parameters: [any PostgresEncodable] = [checkpointID, jobID] + estimate.parameters
        let rows = try transaction.query(
            """
            INSERT INTO estimates (\(columns.joined(separator: ", ")))
            VALUES (\((1...parameters.count).map { "$\($0)" }.joined(separator: ", ")))
            ON CONFLICT ON CONSTRAINT estimates_identity DO NOTHING
            RETURNING id
            """,
            parameters
        )
        guard let row = rows.first else { return false }
        if case .computed(let result) = estimate.outcome, !result.samples.isEmpty {
            let samples = result.samples
            try transaction.execute(
                """
                INSERT INTO estimate_samples (estimate_id, direction, radius, log_estimate, kl_evaluations)
                SELECT $1, direction, radius, log_estimate, kl_evaluations
                FROM unnest($2::integer[], $3::float8[], $4::float8[], $5::integer[])
                     AS s(direction, radius, log_estimate, kl_evaluations)
                """,
                [
                    try row.decode(Int64.self, column: "id"),
                    samples.map(\.direction), samples.map(\.radius),
                    samples.map(\.logEstimate), samples.map(\.klEvaluations),
                ]
            )
        }
        return true
    }
}
