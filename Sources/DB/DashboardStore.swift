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
        try await read { transaction in
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
                    latest: (latestByRun[run.id] ?? []).sorted { EstimateKey.seriesOrder($0.key, $1.key) })
            }
            return DashboardOverview(runs: runs, queue: queue, failures: failures)
        }
    }

    /// The run page's data: nil when there is no run with this id.
    public func run(id: Int64) async throws -> RunDetail? {
        try await read { transaction in
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
            // Ordered by step here and grouped into series below: sorting thousands of rows on
            // the key's ten columns cost PostgreSQL more than the rest of the read.
            let pointRows = try transaction.query(
                """
                SELECT e.id AS estimate_id, e.checkpoint_id, c.step, \(Self.keyColumns),
                       e.log10_volume, e.interval_low, e.interval_high, e.created_at
                FROM checkpoints c JOIN estimates e ON e.checkpoint_id = c.id
                WHERE c.run_id = $1 AND e.skipped IS NULL
                ORDER BY c.step NULLS LAST, c.created_at, c.id
                """,
                [id]
            )
            var keys = EstimateKey.Decoder()
            var series: [EstimateKey: [SeriesPoint]] = [:]
            for row in pointRows {
                let key = try keys.key(of: row)
                series[key, default: []].append(try SeriesPoint(row: row, key: key))
            }
            let points = series.keys.sorted(by: EstimateKey.seriesOrder).flatMap { series[$0] ?? [] }
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
        try await read { transaction in
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
            // `IS NULL` or `=` rather than `IS NOT DISTINCT FROM`, which no index serves.
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

    /// Runs `body` in one read-only transaction that sees one snapshot throughout (repeatable
    /// read; PostgreSQL's default, read committed, takes a new one per statement).
    private func read<T: Sendable>(_ body: @Sendable (Transaction) throws -> T) async throws -> T {
        try await connection.transaction(idempotent: true) { transaction in
            try transaction.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return try body(transaction)
        }
    }

    // MARK: Queries

    /// The key's columns, comma-separated (only `estimates` has these names).
    private static let keyColumns = EstimateKey.columns.columnList()

    /// Per run and series: the newest step's value and the previous step's, each from the
    /// newest checkpoint version of its step that has a computed estimate in the series.
    /// Checkpoints without a step come after every step (`step DESC NULLS LAST`): they stand in
    /// only for series that have no stepped point. This reads every computed estimate, so the
    /// series are numbered first (hashing their keys) and the sorts are on integers only:
    /// sorting on the key's text columns took twice as long.
    private static let latestVolumesQuery = """
        WITH series AS (
            SELECT row_number() OVER () AS series, keys.*
            FROM (SELECT DISTINCT \(keyColumns) FROM estimates WHERE skipped IS NULL) AS keys
        ), versions AS (
            SELECT DISTINCT ON (c.run_id, s.series, c.step)
                   c.run_id, s.series, c.id AS checkpoint_id, c.step, e.log10_volume
            FROM estimates e
            JOIN series s USING (\(keyColumns))
            JOIN checkpoints c ON c.id = e.checkpoint_id
            WHERE e.skipped IS NULL
            ORDER BY c.run_id, s.series, c.step, c.created_at DESC, c.id DESC
        ), ranked AS (
            SELECT versions.*,
                   row_number() OVER newest_first AS rank,
                   lead(checkpoint_id) OVER newest_first AS previous_checkpoint_id,
                   lead(step) OVER newest_first AS previous_step,
                   lead(log10_volume) OVER newest_first AS previous_log10_volume
            FROM versions
            WINDOW newest_first AS (PARTITION BY run_id, series ORDER BY step DESC NULLS LAST)
        )
        SELECT ranked.*, \(keyColumns) FROM ranked JOIN series USING (series) WHERE rank = 1
        """
}

extension EstimateKey {
    /// The order the dashboard lists series in: preconditioner, its parameters, cutoff, then
    /// the rest of the key.
    static func seriesOrder(_ a: EstimateKey, _ b: EstimateKey) -> Bool {
        let first = (a.preconditioner, a.preconditionerParams, a.cutoff, a.evalFingerprint, a.prior, a.priorCenter)
        let other = (b.preconditioner, b.preconditionerParams, b.cutoff, b.evalFingerprint, b.prior, b.priorCenter)
        if first != other { return first < other }
        let rest = (a.sigmaRule, a.directions, a.seed, a.tolerance), otherRest = (b.sigmaRule, b.directions, b.seed, b.tolerance)
        if rest != otherRest { return rest < otherRest }
        return (a.neighbourhood, a.parameters) < (b.neighbourhood, b.parameters)
    }
}

extension EstimateKey {
    /// Reads the keys of many rows, each distinct key once: a run page has thousands of points
    /// in a few series, and decoding a key per point took as long as the query.
    struct Decoder {
        private var indices: [Int]?
        private var known: [[String?]: EstimateKey] = [:]

        mutating func key(of row: Row) throws -> EstimateKey {
            let indices = try self.indices ?? EstimateKey.columns.map { column in
                guard let index = row.columns.index(of: column.name) else {
                    throw DatabaseError(code: "db.decode", message: "no column \"\(column.name)\" in the result")
                }
                return index
            }
            self.indices = indices
            let text = indices.map { row.values[$0] }
            if let key = known[text] { return key }
            let key = try EstimateKey(row: row)
            known[text] = key
            return key
        }
    }
}
