import Foundation

/// Runs, checkpoints and estimates: idempotent upserts for the scanner, the keys a worker
/// still has to compute, and the reads behind `volumed status` and `volumed report`.
public struct ResultStore: Sendable {
    public let connection: Connection

    public init(connection: Connection) {
        self.connection = connection
    }

    // MARK: Runs and checkpoints

    /// The run stored at `path`, created if new (its name updated if it changed).
    public func upsertRun(name: String, path: String) async throws -> RunRecord {
        let rows = try await connection.query(
            """
            INSERT INTO runs (name, path) VALUES ($1, $2)
            ON CONFLICT (path) DO UPDATE SET name = EXCLUDED.name
            RETURNING \(RunRecord.columnNames.joined(separator: ", "))
            """,
            [name, path],
            idempotent: true
        )
        guard let row = rows.first else { throw DatabaseError.query("upserting run \(path) returned no row") }
        return try RunRecord(row: row)
    }

    /// The checkpoint (run, step, fingerprint), created if new; `inserted` says which.
    /// Re-seeing it updates its path (a rename keeps the identity) and fills in `nParams` and
    /// `architecture` when given.
    public func upsertCheckpoint(
        runID: Int64,
        step: Int64?,
        path: String,
        fingerprint: String,
        nParams: Int64? = nil,
        architecture: String? = nil
    ) async throws -> (checkpoint: CheckpointRecord, inserted: Bool) {
        let rows = try await connection.query(
            """
            INSERT INTO checkpoints (run_id, step, path, fingerprint, n_params, architecture)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT ON CONSTRAINT checkpoints_identity DO UPDATE SET
                path = EXCLUDED.path,
                n_params = COALESCE(EXCLUDED.n_params, checkpoints.n_params),
                architecture = COALESCE(EXCLUDED.architecture, checkpoints.architecture)
            RETURNING \(CheckpointRecord.columnNames.joined(separator: ", ")), (xmax = 0) AS inserted
            """,
            [runID, step, path, fingerprint, nParams, architecture],
            idempotent: true
        )
        guard let row = rows.first else { throw DatabaseError.query("upserting checkpoint \(path) returned no row") }
        return (try CheckpointRecord(row: row), try row.decode(Bool.self, column: "inserted"))
    }

    /// Records what reading the checkpoint found.
    public func describeCheckpoint(id: Int64, nParams: Int64, architecture: String) async throws {
        let updated = try await connection.execute(
            "UPDATE checkpoints SET n_params = $2, architecture = $3 WHERE id = $1",
            [id, nParams, architecture],
            idempotent: true
        )
        if updated == 0 { throw DatabaseError(code: "db.not_found", message: "checkpoint \(id) does not exist") }
    }

    public func runs() async throws -> [RunRecord] {
        try await connection.query(
            "SELECT \(RunRecord.columnNames.joined(separator: ", ")) FROM runs ORDER BY name, id",
            idempotent: true
        ).map { try RunRecord(row: $0) }
    }

    // MARK: Estimates

    /// The keys of every estimate stored for the checkpoint (computed or skipped): a worker
    /// computes only the others.
    public func existingEstimateKeys(checkpointID: Int64) async throws -> Set<EstimateKey> {
        let rows = try await connection.query(
            "SELECT \(EstimateKey.columns.columnList()) FROM estimates WHERE checkpoint_id = $1",
            [checkpointID],
            idempotent: true
        )
        return Set(try rows.map(EstimateKey.init(row:)))
    }

    /// Every estimate of the checkpoint with its samples, oldest first.
    public func estimates(checkpointID: Int64) async throws -> [StoredEstimate] {
        try await connection.transaction(idempotent: true) { transaction in
            try Self.estimates(checkpointID: checkpointID, transaction)
        }
    }

    /// `estimates(checkpointID:)` inside a transaction of the caller's (the dashboard's
    /// checkpoint page reads them with the checkpoint's other rows).
    static func estimates(checkpointID: Int64, _ transaction: Transaction) throws -> [StoredEstimate] {
        let rows = try transaction.query(
            """
            SELECT id, checkpoint_id, job_id, created_at, \(EstimateRecord.columnNames.joined(separator: ", "))
            FROM estimates WHERE checkpoint_id = $1 ORDER BY id
            """,
            [checkpointID]
        )
        let sampleRows = try transaction.query(
            """
            SELECT s.estimate_id, s.direction, s.radius, s.log_estimate, s.kl_evaluations
            FROM estimate_samples s JOIN estimates e ON e.id = s.estimate_id
            WHERE e.checkpoint_id = $1
            ORDER BY s.estimate_id, s.direction
            """,
            [checkpointID]
        )
        var samples: [Int64: [SampleRecord]] = [:]
        for row in sampleRows {
            samples[try row.decode(Int64.self, column: "estimate_id"), default: []].append(SampleRecord(
                direction: try row.decode(Int.self, column: "direction"),
                radius: try row.decode(Double.self, column: "radius"),
                logEstimate: try row.decode(Double.self, column: "log_estimate"),
                klEvaluations: try row.decode(Int.self, column: "kl_evaluations")
            ))
        }
        return try rows.map { row in
            let id = try row.decode(Int64.self, column: "id")
            return try StoredEstimate(row: row, samples: samples[id] ?? [])
        }
    }

    // MARK: Status and reports

    /// Jobs per state.
    public func queueCounts() async throws -> QueueCounts {
        try QueueCounts(rows: try await connection.query(
            "SELECT \(QueueCounts.selectList) FROM jobs j GROUP BY j.state",
            idempotent: true
        ))
    }

    /// The estimates under way, oldest first.
    public func runningEstimates() async throws -> [RunningEstimate] {
        try await connection.query(RunningEstimate.query, idempotent: true).map(RunningEstimate.init(row:))
    }

    /// The newest `limit` estimate rows (computed and skipped), newest first.
    public func recentEstimates(limit: Int = 10) async throws -> [EstimateSummary] {
        try await connection.query(
            """
            SELECT e.id AS estimate_id, r.name AS run, c.id AS checkpoint_id, c.step, e.cutoff,
                   e.preconditioner, e.preconditioner_params, e.log10_volume, e.skipped, e.created_at,
                   e.neighbourhood, e.parameters
            FROM estimates e
            JOIN checkpoints c ON c.id = e.checkpoint_id
            JOIN runs r ON r.id = c.run_id
            ORDER BY e.created_at DESC, e.id DESC
            LIMIT $1
            """,
            [limit],
            idempotent: true
        ).map(EstimateSummary.init(row:))
    }

    /// Jobs whose last attempt failed (re-queued or out of attempts), most recent first.
    public func recentFailures(limit: Int = 10) async throws -> [JobFailure] {
        try await connection.query(JobFailure.recentQuery, [limit], idempotent: true).map(JobFailure.init(row:))
    }

    /// log10 volume against step (the `volume_by_step` view), optionally restricted to runs
    /// (by name), a cutoff and a preconditioner; ordered by run, neighbourhood and parameter
    /// subset, preconditioner, cutoff, step.
    public func volumeSeries(
        runs: [String]? = nil,
        cutoff: Double? = nil,
        preconditioner: String? = nil
    ) async throws -> [VolumePoint] {
        try await connection.query(
            """
            SELECT run, run_id, step, checkpoint_id, cutoff, preconditioner, preconditioner_params,
                   log10_volume, log_volume, interval_low, interval_high, neighbourhood, parameters
            FROM volume_by_step
            WHERE ($1::text[] IS NULL OR run = ANY($1::text[]))
              AND ($2::float8 IS NULL OR cutoff = $2::float8)
              AND ($3::text IS NULL OR preconditioner = $3::text)
            ORDER BY run, run_id, neighbourhood, parameters, preconditioner, preconditioner_params, cutoff, step NULLS FIRST
            """,
            [runs, cutoff, preconditioner],
            idempotent: true
        ).map(VolumePoint.init(row:))
    }
}
