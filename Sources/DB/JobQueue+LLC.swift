/// LLC jobs: one job (one shard) per checkpoint and LLC settings, beside the checkpoint's volume
/// jobs. Claimed, heartbeated, failed and released like those; completed with `completeLLC`.
extension JobQueue {
    /// Adds the LLC job for `checkpointID` under `settingsKey` unless it exists; returns it and
    /// whether this call created it. `settings` and `plan` are JSON text, as for `enqueue`.
    public func enqueueLLC(
        checkpointID: Int64,
        settings: String,
        settingsKey: String,
        plan: String? = nil,
        maxAttempts: Int = 3
    ) async throws -> (job: JobRecord, inserted: Bool) {
        try await connection.transaction(idempotent: true) { transaction in
            let inserted = try transaction.query(
                """
                INSERT INTO jobs (checkpoint_id, settings, settings_key, plan, max_attempts, kind)
                VALUES ($1, $2::jsonb, $3, $4::jsonb, $5, 'llc')
                ON CONFLICT ON CONSTRAINT jobs_identity DO NOTHING
                RETURNING \(JobRecord.columns)
                """,
                [checkpointID, settings, settingsKey, plan, maxAttempts]
            )
            if let row = inserted.first { return (try JobRecord(row: row), true) }
            let existing = try transaction.query(
                "SELECT \(JobRecord.columns) FROM jobs WHERE checkpoint_id = $1 AND settings_key = $2 AND shard = 0",
                [checkpointID, settingsKey]
            )
            guard let row = existing.first else {
                throw DatabaseError(code: "db.not_found", message: "LLC job for checkpoint \(checkpointID) and settings \(settingsKey) was not inserted")
            }
            return (try JobRecord(row: row), false)
        }
    }

    /// Stores the LLC job's estimate (its traces, and `volumed_llc` notified) and marks the job
    /// done, in one transaction, only while `job`'s lease is held. An estimate already stored
    /// under the same identity is left as it is; returns whether this call inserted it.
    @discardableResult
    public func completeLLC(_ job: ClaimedJob, record: LLCRecord) async throws -> Bool {
        precondition(job.kind == .llc, "job \(job.id) is a volume job")
        return try await connection.transaction(idempotent: true) { transaction in
            switch try Self.lockLease(job, transaction) {
            case .held: break
            case .alreadyFinished(.done): return false  // a retried commit that had succeeded
            case .alreadyFinished, .released, .lost: throw try Self.leaseLost(job, transaction)
            }
            let inserted = try LLCStore.insert(record, checkpointID: job.checkpoint.id, jobID: job.id, transaction) != nil
            try transaction.execute(
                """
                UPDATE jobs SET state = 'done', lease_expires_at = NULL, finished_at = now(), updated_at = now(),
                       directions_done = coalesce(directions_total, directions_done)
                WHERE id = $1
                """,
                [job.id]
            )
            return inserted
        }
    }
}
