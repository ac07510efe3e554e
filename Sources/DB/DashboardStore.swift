/// The reads behind the dashboard's pages, its JSON API and `/metrics`. Each is one
/// transaction, so a page never mixes two states of the store.
///
/// A series is one full `EstimateKey`: two estimates that differ in any part of it (the eval
/// data's fingerprint, the seed, …) are never drawn as one line. The key is unique per
/// checkpoint (`estimates_identity`), so a checkpoint has at most one estimate per series.
public struct DashboardStore: Sendable {
    public let connection: Connection

    public init(connection: Connection) {
        self.connection = connection
    }

    /// Every run with its newest volumes and jobs, the whole queue, the last `failureLimit`
    /// failures.
    public func overview(failureLimit: Int = 10) async throws -> DashboardOverview {
        try await connection.transaction(idempotent: true) { transaction in
            let runRows = try transaction.query(
                """
                SELECT \(RunRecord.selectList(from: "r", prefix: "")),
                       count(c.id) AS checkpoints, max(c.step) AS latest_step
                FROM runs r LEFT JOIN checkpoints c ON c.run_id = r.id
                GROUP BY r.id
                ORDER BY r.name, r.id
                """
            )
            let jobRows = try transaction.query(
                """
                SELECT c.run_id, \(QueueCounts.selectList)
                FROM jobs j JOIN checkpoints c ON c.id = j.checkpoint_id
                GROUP BY c.run_id, j.state
                """
            )
            let latestRows = try transaction.query(Self.latestVolumesQuery)
            let queue = try QueueCounts(rows: try transaction.query("SELECT \(QueueCounts.selectList) FROM jobs j GROUP BY j.state"))
            let failures = try transaction.query(JobFailure.recentQuery, [failureLimit]).map(JobFailure.init(row:))

            let jobsByRun = try Dictionary(grouping: jobRows) { try $0.decode(Int64.self, column: "run_id") }
            var latestByRun: [Int64: [LatestVolume]] = [:]
            for row in latestRows {
                latestByRun[try row.decode(Int64.self, column: "run_id"), default: []].append(try LatestVolume(row: row))
            }
            let runs = try runRows.map { row in
                let run = try RunRecord(row: row)
                return RunOverview(
                    run: run,
                    checkpoints: try row.decode(Int.self, column: "checkpoints"),
                    latestStep: try row.decode(Int64?.self, column: "latest_step"),
                    jobs: try QueueCounts(rows: jobsByRun[run.id] ?? []),
                    latest: latestByRun[run.id] ?? [])
            }
            return DashboardOverview(runs: runs, queue: queue, failures: failures)
        }
    }

    /// The run page's data: nil when there is no run with this id.
    public func run(id: Int64) async throws -> RunDetail? {
        try await connection.transaction(idempotent: true) { transaction in
            guard let runRow = try transaction.query(
                "SELECT \(RunRecord.columnNames.joined(separator: ", ")) FROM runs WHERE id = $1", [id]
            ).first else { return nil }
            let checkpoints = try transaction.query(
                """
                SELECT \(CheckpointRecord.columnNames.joined(separator: ", ")) FROM checkpoints
                WHERE run_id = $1 ORDER BY step NULLS LAST, created_at, id
                """,
                [id]
            ).map { try CheckpointRecord(row: $0) }
            let points = try transaction.query(
                """
                SELECT e.id AS estimate_id, e.checkpoint_id, c.step, \(Self.keyColumns(of: "e")),
                       e.log10_volume, e.interval_low, e.interval_high, e.created_at
                FROM checkpoints c JOIN estimates e ON e.checkpoint_id = c.id
                WHERE c.run_id = $1 AND e.skipped IS NULL
                ORDER BY \(Self.seriesOrder), c.step NULLS LAST, c.created_at, c.id
                """,
                [id]
            ).map(SeriesPoint.init(row:))
            let jobs = try QueueCounts(rows: try transaction.query(
                """
                SELECT \(QueueCounts.selectList)
                FROM jobs j JOIN checkpoints c ON c.id = j.checkpoint_id
                WHERE c.run_id = $1 GROUP BY j.state
                """,
                [id]
            ))
            return RunDetail(run: try RunRecord(row: runRow), checkpoints: checkpoints, points: points, jobs: jobs)
        }
    }

    /// The checkpoint page's data: nil when there is no checkpoint with this id.
    public func checkpoint(id: Int64) async throws -> CheckpointDetail? {
        try await connection.transaction(idempotent: true) { transaction in
            guard let row = try transaction.query(
                """
                SELECT \(CheckpointRecord.selectList(from: "c", prefix: "checkpoint_")),
                       \(RunRecord.selectList(from: "r", prefix: "run_"))
                FROM checkpoints c JOIN runs r ON r.id = c.run_id
                WHERE c.id = $1
                """,
                [id]
            ).first else { return nil }
            let checkpoint = try CheckpointRecord(row: row, prefix: "checkpoint_")
            // Two statements rather than `IS NOT DISTINCT FROM`, which no index serves.
            let sameStep = checkpoint.step == nil ? "step IS NULL" : "step = $3"
            let otherVersions = try transaction.query(
                """
                SELECT \(CheckpointRecord.columnNames.joined(separator: ", ")) FROM checkpoints
                WHERE run_id = $1 AND id <> $2 AND \(sameStep)
                ORDER BY created_at, id
                """,
                checkpoint.step.map { [checkpoint.runID, id, $0] } ?? [checkpoint.runID, id]
            ).map { try CheckpointRecord(row: $0) }
            let jobs = try transaction.query(
                "SELECT \(CheckpointJob.columns) FROM jobs WHERE checkpoint_id = $1 ORDER BY created_at, id", [id]
            ).map(CheckpointJob.init(row:))
            return CheckpointDetail(
                checkpoint: checkpoint,
                run: try RunRecord(row: row, prefix: "run_"),
                otherVersions: otherVersions,
                estimates: try ResultStore.estimates(checkpointID: id, transaction),
                jobs: jobs)
        }
    }

    /// The run a checkpoint belongs to (the NOTIFY payload is a checkpoint id); nil when there
    /// is no such checkpoint. One statement, so one transaction by itself.
    public func runID(checkpointID: Int64) async throws -> Int64? {
        try await connection.query("SELECT run_id FROM checkpoints WHERE id = $1", [checkpointID], idempotent: true)
            .first?.decode(Int64.self, column: "run_id")
    }

    /// Estimate rows stored, computed and skipped. One statement, so one transaction by itself.
    public func estimateCounts() async throws -> EstimateCounts {
        let rows = try await connection.query(
            """
            SELECT count(*) FILTER (WHERE skipped IS NULL) AS computed,
                   count(*) FILTER (WHERE skipped IS NOT NULL) AS skipped
            FROM estimates
            """,
            idempotent: true
        )
        guard let row = rows.first else { throw DatabaseError.query("counting estimates returned no row") }
        return EstimateCounts(
            computed: try row.decode(Int.self, column: "computed"),
            skipped: try row.decode(Int.self, column: "skipped"))
    }

    // MARK: Queries

    /// `table.column, …` for the key's columns (selected under their own names).
    private static func keyColumns(of table: String) -> String {
        EstimateKey.columns.map { "\(table).\($0.name)" }.joined(separator: ", ")
    }

    /// The order series are listed in: preconditioner, its parameters, cutoff, then the rest of
    /// the key (unqualified: only `estimates` has these columns).
    private static let seriesOrder: String = {
        let first = ["preconditioner", "preconditioner_params", "cutoff"]
        return (first + EstimateKey.columns.map(\.name).filter { !first.contains($0) }).joined(separator: ", ")
    }()

    /// Per run and series: the newest step's value and the previous step's, each from the
    /// newest checkpoint version of its step that has a computed estimate in the series.
    /// Checkpoints without a step come after every step (`step DESC NULLS LAST`): they stand in
    /// only for series that have no stepped point.
    private static let latestVolumesQuery: String = {
        let key = EstimateKey.columns.map(\.name).joined(separator: ", ")
        return """
            WITH versions AS (
                SELECT DISTINCT ON (c.run_id, \(key), c.step)
                       c.run_id, c.id AS checkpoint_id, c.step, \(keyColumns(of: "e")), e.log10_volume
                FROM estimates e JOIN checkpoints c ON c.id = e.checkpoint_id
                WHERE e.skipped IS NULL
                ORDER BY c.run_id, \(key), c.step, c.created_at DESC, c.id DESC
            ), ranked AS (
                SELECT versions.*,
                       row_number() OVER series AS rank,
                       lead(checkpoint_id) OVER series AS previous_checkpoint_id,
                       lead(step) OVER series AS previous_step,
                       lead(log10_volume) OVER series AS previous_log10_volume
                FROM versions
                WINDOW series AS (PARTITION BY run_id, \(key) ORDER BY step DESC NULLS LAST)
            )
            SELECT * FROM ranked WHERE rank = 1
            ORDER BY run_id, \(seriesOrder)
            """
    }()
}
