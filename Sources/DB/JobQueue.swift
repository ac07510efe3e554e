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

    /// Adds the job for `checkpointID` under `settingsKey` unless it exists; returns its first
    /// shard and whether this call created it. `settings` and `plan` (what the enqueuer resolved
    /// for the checkpoint; not part of the job's identity) are JSON text, stored as `jsonb`.
    ///
    /// `shards` splits the estimate's directions into shards, one row each (shard i computes
    /// `shards[i]`); nil makes one row computing every direction. The rows are inserted together
    /// or not at all: an estimate that has any shard keeps its layout, even if a later enqueuer
    /// would split it otherwise.
    public func enqueue(
        checkpointID: Int64,
        settings: String,
        settingsKey: String,
        plan: String? = nil,
        maxAttempts: Int = 3,
        shards: [Range<Int>]? = nil
    ) async throws -> (job: JobRecord, inserted: Bool) {
        let ranges = shards ?? []
        precondition(shards.map { !$0.isEmpty && $0.allSatisfy { !$0.isEmpty && $0.lowerBound >= 0 } } ?? true,
                     "shards must be non-empty ranges of directions")
        return try await connection.transaction(idempotent: true) { transaction in
            // Serializes enqueuers of the same estimate: the existence check and the insert of
            // every shard are then one step.
            try transaction.execute("SELECT pg_advisory_xact_lock(hashtextextended($2 || ':' || $1::text, 0))", [checkpointID, settingsKey])
            let existing = try transaction.query(
                "SELECT \(JobRecord.columns) FROM jobs WHERE checkpoint_id = $1 AND settings_key = $2 ORDER BY shard LIMIT 1",
                [checkpointID, settingsKey]
            )
            if let row = existing.first { return (try JobRecord(row: row), false) }
            let count = max(1, ranges.count)
            let inserted = try transaction.query(
                """
                INSERT INTO jobs (checkpoint_id, settings, settings_key, plan, max_attempts, shard, shards,
                                  first_direction, direction_count)
                SELECT $1, $2::jsonb, $3, $4::jsonb, $5, s.shard - 1, $6, s.first, s.count
                FROM unnest($7::integer[], $8::integer[]) WITH ORDINALITY AS s(first, count, shard)
                ORDER BY s.shard
                RETURNING \(JobRecord.columns)
                """,
                [checkpointID, settings, settingsKey, plan, maxAttempts, count,
                 ranges.isEmpty ? [0] : ranges.map(\.lowerBound),
                 ranges.isEmpty ? [Int?.none] : ranges.map { Optional($0.count) }]
            )
            guard let first = try inserted.map(JobRecord.init(row:)).min(by: { $0.shard < $1.shard }) else {
                throw DatabaseError(code: "db.not_found", message: "job for checkpoint \(checkpointID) and settings \(settingsKey) was not inserted")
            }
            return (first, true)
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
                    run: RunRecord(row: row, prefix: "r_"),
                    shard: row.decode(Int.self, column: "shard"),
                    shards: row.decode(Int.self, column: "shards"),
                    firstDirection: row.decode(Int.self, column: "first_direction"),
                    directionCount: row.decode(Int?.self, column: "direction_count"),
                    kind: JobKind(rawValue: row.decode(String.self, column: "kind")) ?? .volume
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
                started_at = CASE WHEN candidate.exhausted THEN j.started_at ELSE now() END,
                directions_done = CASE WHEN candidate.exhausted THEN j.directions_done ELSE 0 END,
                directions_total = CASE WHEN candidate.exhausted THEN j.directions_total ELSE NULL END,
                updated_at = now()
            FROM candidate
            WHERE j.id = candidate.id
            RETURNING j.id, j.checkpoint_id, j.settings, j.settings_key, j.plan, j.attempts, j.max_attempts,
                      j.lease_expires_at, candidate.exhausted, j.shard, j.shards, j.first_direction, j.direction_count,
                      j.kind
        )
        SELECT leased.id, leased.settings::text AS settings, leased.settings_key, leased.plan::text AS plan, leased.attempts,
               leased.max_attempts, leased.lease_expires_at, leased.exhausted, leased.shard, leased.shards,
               leased.first_direction, leased.direction_count, leased.kind,
               \(CheckpointRecord.selectList(from: "c", prefix: "c_")),
               \(RunRecord.selectList(from: "r", prefix: "r_"))
        FROM leased
        JOIN checkpoints AS c ON c.id = leased.checkpoint_id
        JOIN runs AS r ON r.id = c.run_id
        """

    /// Extends the lease to `leaseSeconds` from now, and records `progress` when given; returns
    /// the new expiry. Throws `db.lease_lost` if the job is no longer leased to this worker (a
    /// lease that expired but was not taken over is still held).
    @discardableResult
    public func heartbeat(_ job: ClaimedJob, leaseSeconds: Double, progress: ShardProgress? = nil) async throws -> Date {
        try await connection.transaction(idempotent: true) { transaction in
            let rows = try transaction.query(
                """
                UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $4::float8), updated_at = now(),
                       directions_done = coalesce($5, directions_done),
                       directions_total = CASE WHEN $5::integer IS NULL THEN directions_total ELSE $6 END
                WHERE id = $1 AND lease_owner = $2 AND attempts = $3 AND state = 'running'
                RETURNING lease_expires_at
                """,
                [job.id, job.owner, job.attempt, leaseSeconds, progress?.done, progress?.total]
            )
            guard let row = rows.first else { throw try Self.leaseLost(job, transaction) }
            return try row.decode(Date.self, column: "lease_expires_at")
        }
    }

    /// Stores a whole estimate's results (a job of one shard that computed its estimates itself)
    /// and marks it done: `complete(_:results:aggregate:)` with nothing to aggregate.
    @discardableResult
    public func complete(_ job: ClaimedJob, estimates: [EstimateRecord]) async throws -> Int {
        precondition(job.shards == 1, "a shard of \(job.shards) completes with its results, not with estimates")
        return try await complete(job, results: []) { _ in estimates }
    }

    /// Finishes a shard, in one transaction, only while `job`'s lease is held: locks the rows of
    /// its estimate's shards (in id order, so two shards finishing at once cannot deadlock) and
    /// marks it done. If every other shard is done, this shard finishes the estimate: `aggregate`
    /// gets each preconditioner's results merged over all shards (every direction, in direction
    /// order; seconds summed; skipped where a shard skipped it) and returns the estimate rows,
    /// which are inserted, the shards' stored results deleted, and `volumed_estimates` notified
    /// with the checkpoint id. Otherwise `results` are stored for the last shard to read.
    ///
    /// A preconditioner that some shard did not compute (its estimates were all stored when that
    /// shard began) is left out of the merge. Estimates already stored under the same key are
    /// left as they are (`ON CONFLICT DO NOTHING`); returns how many rows this call inserted.
    /// Skipped preconditioners are summarized in the job's `skip_reasons`.
    @discardableResult
    public func complete(
        _ job: ClaimedJob,
        results: [ShardResult],
        aggregate: @Sendable ([ShardResult]) throws -> [EstimateRecord]
    ) async throws -> Int {
        try await connection.transaction(idempotent: true) { transaction in
            let group = try Self.lockGroup(of: job, transaction)
            switch try Self.lockLease(job, transaction) {
            case .held: break
            case .alreadyFinished(.done): return 0  // a retried commit that had succeeded
            case .alreadyFinished, .released, .lost: throw try Self.leaseLost(job, transaction)
            }
            var skipped: [(name: String, reason: String)] = results.compactMap { result in
                guard case .skipped(let reason) = result.outcome else { return nil }
                return (result.preconditionerName, reason)
            }
            let others = group.filter { $0.id != job.id }
            // The direction searches this shard did (its progress at the end); nil for a whole
            // estimate completed with its rows.
            let searched: Int? = results.isEmpty ? nil : results.reduce(0) { sum, result in
                if case .computed(_, let directions) = result.outcome { sum + directions.count } else { sum }
            }
            var inserted = 0
            if others.allSatisfy({ $0.state == .done }) {
                let stored = try Self.storedResults(of: others.map(\.id), transaction)
                let estimates = try aggregate(Self.merge(results, stored, shards: others.count))
                for estimate in estimates {
                    if try Self.insert(estimate, checkpointID: job.checkpoint.id, jobID: job.id, transaction) {
                        inserted += 1
                    }
                    if case .skipped(let reason) = estimate.outcome { skipped.append((estimate.key.preconditionerName, reason)) }
                }
                let ids = group.map(\.id)
                try transaction.execute("DELETE FROM shard_outcomes WHERE job_id = ANY($1::bigint[])", [ids])
                try transaction.execute("DELETE FROM shard_preconditioners WHERE job_id = ANY($1::bigint[])", [ids])
                try transaction.execute(
                    "SELECT pg_notify($1, $2)",
                    [Self.notificationChannel, String(job.checkpoint.id)]
                )
            } else {
                try Self.store(results, jobID: job.id, transaction)
            }
            try transaction.execute(
                """
                UPDATE jobs SET state = 'done', lease_expires_at = NULL, finished_at = now(), updated_at = now(),
                       directions_total = coalesce($4, directions_total),
                       directions_done = coalesce($4, directions_total, directions_done),
                       skip_reasons = (SELECT jsonb_object_agg(name, reason)
                                       FROM unnest($2::text[], $3::text[]) AS s(name, reason))
                WHERE id = $1
                """,
                [job.id, skipped.map(\.name), skipped.map(\.reason), searched]
            )
            return inserted
        }
    }

    /// Records a failed attempt: `code` and `message` are kept on the job; it is re-queued
    /// while attempts remain and `retryable`, else it becomes `failed`. Returns the new state.
    /// A failure that is not `retryable` (bad input: every shard would fail the same way) also
    /// fails the estimate's queued shards, with the same error.
    @discardableResult
    public func fail(_ job: ClaimedJob, code: String, message: String, retryable: Bool = true) async throws -> JobState {
        try await connection.transaction(idempotent: true) { transaction in
            let group = try Self.lockGroup(of: job, transaction)
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
            if !retryable {
                try transaction.execute(
                    """
                    UPDATE jobs SET state = 'failed', error_code = $2, last_error = $3, finished_at = now(), updated_at = now()
                    WHERE id = ANY($1::bigint[]) AND state = 'queued'
                    """,
                    [group.filter { $0.id != job.id }.map(\.id), code, message]
                )
            }
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

    /// Re-queues the `failed` shards of the estimates the given jobs are shards of (attempts
    /// start over; their done shards stay done); returns the ids re-queued.
    public func retry(jobIDs: [Int64]) async throws -> [Int64] {
        try await connection.query(
            """
            UPDATE jobs AS j SET state = 'queued', attempts = 0, lease_expires_at = NULL, finished_at = NULL,
                   updated_at = now()
            FROM (SELECT DISTINCT checkpoint_id, settings_key FROM jobs WHERE id = ANY($1::bigint[])) AS g
            WHERE j.state = 'failed' AND j.checkpoint_id = g.checkpoint_id AND j.settings_key = g.settings_key
            RETURNING j.id
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

    // MARK: Shards

    /// A shard's row as its group's lock reads it.
    private struct GroupRow {
        let id: Int64
        let state: JobState?
    }

    /// Locks the rows of every shard of `job`'s estimate, in id order; returns them.
    private static func lockGroup(of job: ClaimedJob, _ transaction: Transaction) throws -> [GroupRow] {
        try transaction.query(
            """
            SELECT g.id, g.state FROM jobs AS g
            JOIN jobs AS j ON j.checkpoint_id = g.checkpoint_id AND j.settings_key = g.settings_key
            WHERE j.id = $1
            ORDER BY g.id
            FOR UPDATE OF g
            """,
            [job.id]
        ).map { GroupRow(id: try $0.decode(Int64.self, column: "id"),
                         state: JobState(rawValue: try $0.decode(String.self, column: "state"))) }
    }

    /// A finished shard's results, for the shard that finishes the estimate.
    private static func store(_ results: [ShardResult], jobID: Int64, _ transaction: Transaction) throws {
        try transaction.execute(
            """
            INSERT INTO shard_preconditioners (job_id, preconditioner, preconditioner_params, seconds, skipped)
            SELECT $1, p, q, s, k FROM unnest($2::text[], $3::text[], $4::float8[], $5::text[]) AS x(p, q, s, k)
            """,
            [jobID, results.map(\.preconditioner), results.map(\.preconditionerParams),
             results.map { result -> Double? in if case .computed(let seconds, _) = result.outcome { seconds } else { nil } },
             results.map { result -> String? in if case .skipped(let reason) = result.outcome { reason } else { nil } }]
        )
        var names: [String] = [], params: [String] = [], directions: [Int] = [], cutoffs: [Double] = []
        var radii: [Double] = [], logEstimates: [Double] = [], evaluations: [Int] = [], nonfinite: [Int] = []
        var exponents: [Double] = []
        for result in results {
            guard case .computed(_, let computed) = result.outcome else { continue }
            for direction in computed {
                for sample in direction.samples {
                    names.append(result.preconditioner)
                    params.append(result.preconditionerParams)
                    directions.append(direction.direction)
                    cutoffs.append(sample.cutoff)
                    radii.append(sample.radius)
                    logEstimates.append(sample.logEstimate)
                    evaluations.append(sample.klEvaluations)
                    nonfinite.append(direction.nonfinite)
                    exponents.append(direction.exponent)
                }
            }
        }
        guard !names.isEmpty else { return }
        try transaction.execute(
            """
            INSERT INTO shard_outcomes (job_id, preconditioner, preconditioner_params, direction, cutoff, radius,
                                        log_estimate, kl_evaluations, nonfinite, exponent)
            SELECT $1, p, q, d, c, r, l, e, n, x
            FROM unnest($2::text[], $3::text[], $4::integer[], $5::float8[], $6::float8[], $7::float8[],
                        $8::integer[], $9::integer[], $10::float8[]) AS s(p, q, d, c, r, l, e, n, x)
            """,
            [jobID, names, params, directions, cutoffs, radii, logEstimates, evaluations, nonfinite, exponents]
        )
    }

    /// What the given finished shards stored: per shard, its results.
    private static func storedResults(of jobIDs: [Int64], _ transaction: Transaction) throws -> [Int64: [ShardResult]] {
        guard !jobIDs.isEmpty else { return [:] }
        struct Key: Hashable { let job: Int64, name: String, params: String }
        var directions: [Key: [ShardDirection]] = [:]
        let outcomeRows = try transaction.query(
            """
            SELECT job_id, preconditioner, preconditioner_params, direction, cutoff, radius, log_estimate,
                   kl_evaluations, nonfinite, exponent
            FROM shard_outcomes WHERE job_id = ANY($1::bigint[])
            ORDER BY job_id, preconditioner, preconditioner_params, direction
            """,
            [jobIDs]
        )
        for row in outcomeRows {
            let key = Key(job: try row.decode(Int64.self, column: "job_id"),
                          name: try row.decode(String.self, column: "preconditioner"),
                          params: try row.decode(String.self, column: "preconditioner_params"))
            let direction = try row.decode(Int.self, column: "direction")
            let sample = ShardSample(cutoff: try row.decode(Double.self, column: "cutoff"),
                                     radius: try row.decode(Double.self, column: "radius"),
                                     logEstimate: try row.decode(Double.self, column: "log_estimate"),
                                     klEvaluations: try row.decode(Int.self, column: "kl_evaluations"))
            if directions[key]?.last?.direction == direction {
                directions[key]![directions[key]!.count - 1].samples.append(sample)
            } else {
                directions[key, default: []].append(ShardDirection(
                    direction: direction, samples: [sample], nonfinite: try row.decode(Int.self, column: "nonfinite"),
                    exponent: try row.decode(Double.self, column: "exponent")))
            }
        }
        var results: [Int64: [ShardResult]] = [:]
        let rows = try transaction.query(
            "SELECT job_id, preconditioner, preconditioner_params, seconds, skipped FROM shard_preconditioners WHERE job_id = ANY($1::bigint[])",
            [jobIDs]
        )
        for row in rows {
            let key = Key(job: try row.decode(Int64.self, column: "job_id"),
                          name: try row.decode(String.self, column: "preconditioner"),
                          params: try row.decode(String.self, column: "preconditioner_params"))
            let outcome: ShardResult.Outcome = if let reason = try row.decode(String?.self, column: "skipped") {
                .skipped(reason: reason)
            } else {
                .computed(seconds: try row.decode(Double.self, column: "seconds"), directions: directions[key] ?? [])
            }
            results[key.job, default: []].append(ShardResult(preconditioner: key.name, preconditionerParams: key.params, outcome: outcome))
        }
        return results
    }

    /// Each of `own`'s preconditioners merged with what the other `shards` shards stored: left
    /// out unless every shard has it; skipped if any shard skipped it; else every direction (in
    /// direction order, samples in `own`'s cutoff order) and the seconds summed.
    static func merge(_ own: [ShardResult], _ stored: [Int64: [ShardResult]], shards: Int) -> [ShardResult] {
        own.compactMap { mine in
            let theirs = stored.values.compactMap { results in
                results.first { $0.preconditioner == mine.preconditioner && $0.preconditionerParams == mine.preconditionerParams }
            }
            guard theirs.count == shards else { return nil }
            var seconds = 0.0
            var directions: [ShardDirection] = []
            for result in [mine] + theirs {
                switch result.outcome {
                case .skipped: return result
                case .computed(let s, let d):
                    seconds += s
                    directions += d
                }
            }
            guard case .computed(_, let ownDirections) = mine.outcome else { return mine }
            // Stored samples come back in no particular cutoff order.
            let cutoffs = ownDirections.first?.samples.map(\.cutoff) ?? []
            let position = Dictionary(cutoffs.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
            directions = directions.sorted { $0.direction < $1.direction }.map { direction in
                var ordered = direction
                ordered.samples.sort { (position[$0.cutoff] ?? .max) < (position[$1.cutoff] ?? .max) }
                return ordered
            }
            var merged = mine
            merged.outcome = .computed(seconds: seconds, directions: directions)
            return merged
        }
    }

    // MARK: Lease checks

    enum LeaseStatus {
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
    static func lockLease(_ job: ClaimedJob, _ transaction: Transaction) throws -> LeaseStatus {
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

    static func leaseLost(_ job: ClaimedJob, _ transaction: Transaction) throws -> DatabaseError {
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
