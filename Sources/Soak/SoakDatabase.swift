import DB
import Glibc
import Logging

/// The daemon's tables as the soak reads them: straight to the embedded cluster's socket (no
/// cluster lock taken, so the daemon still stops its cluster on exit), reconnecting across the
/// PostgreSQL restart like any client.
struct SoakDatabase: Sendable {
    struct CheckpointRow: Sendable {
        var id: Int64
        var path: String
        var fingerprint: String
    }

    struct JobRow: Sendable, CustomStringConvertible {
        var id: Int64
        var checkpointID: Int64
        /// "volume" or "llc".
        var kind: String
        /// Which shard of its estimate, of `shards`.
        var shard: Int
        var shards: Int
        var state: String
        var attempts: Int
        var errorCode: String?
        var lastError: String?

        var description: String {
            "\(kind == "llc" ? "LLC " : "")job \(id) (shard \(shard + 1)/\(shards)) \(state), attempt \(attempts)" + (errorCode.map { " [\($0)]" } ?? "") + (lastError.map { " \($0)" } ?? "")
        }
    }

    struct EstimateRow: Sendable {
        var checkpointID: Int64
        var cutoff: Double
        var preconditioner: String
        var skipped: String?
        var logVolume: Double?
        var samples: Int
    }

    struct LLCRow: Sendable {
        var checkpointID: Int64
        var chains: Int
        var samples: Int
    }

    /// Everything the verdict needs, read in one transaction (one consistent snapshot).
    struct Snapshot: Sendable {
        var checkpoints: [CheckpointRow]
        var jobs: [JobRow]
        var estimates: [EstimateRow]
        var llcEstimates: [LLCRow]
        /// Groups of estimates sharing the unique key (the constraint forbids any).
        var duplicateKeys: Int
        /// `shard_outcomes` rows of finished estimates (their last shard deletes them).
        var leftoverShardRows: Int
    }

    let connection: Connection

    static func connect(stateDirectory: String) async throws -> SoakDatabase {
        var logger = Logger(label: "volumed-soak.db")
        // The reconnects across the PostgreSQL restart are expected; only real trouble is shown.
        logger.logLevel = .error
        let connection = try await Connection.connect(
            to: ClusterLayout(stateDirectory: stateDirectory).connectionString(),
            options: ConnectionOptions(applicationName: "volumed-soak", logger: logger))
        return SoakDatabase(connection: connection)
    }

    func close() async {
        await connection.close()
    }

    /// Whether the checkpoint at `path` has an estimate with every shard done.
    func isDone(path: String) async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT 1 FROM jobs j JOIN checkpoints c ON c.id = j.checkpoint_id WHERE c.path = $1 AND j.kind = 'volume'
            GROUP BY j.checkpoint_id, j.settings_key HAVING bool_and(j.state = 'done') LIMIT 1
            """,
            [path], idempotent: true)
        return !rows.isEmpty
    }

    /// Whether a worker of the daemon with process id `pid` holds a job (workers name
    /// themselves `<host>:<pid>:worker-<n>` in `lease_owner`).
    func isEstimating(daemon pid: pid_t) async throws -> Bool {
        let rows = try await connection.query(
            "SELECT 1 FROM jobs WHERE state = 'running' AND lease_owner LIKE $1 LIMIT 1",
            ["%:\(pid):worker-%"], idempotent: true)
        return !rows.isEmpty
    }

    /// Paths whose checkpoints have an estimate with every shard done, or with a shard failed,
    /// and how many jobs (shards) are queued or running.
    func progress() async throws -> (done: Set<String>, failed: Set<String>, active: Int) {
        let rows = try await connection.query(
            """
            SELECT c.path, bool_and(j.state = 'done') AS done, bool_or(j.state = 'failed') AS failed,
                   count(*) FILTER (WHERE j.state IN ('queued', 'running')) AS active
            FROM jobs j JOIN checkpoints c ON c.id = j.checkpoint_id
            GROUP BY c.path, j.checkpoint_id, j.settings_key
            """, idempotent: true)
        var done = Set<String>(), failed = Set<String>(), active = 0
        for row in rows {
            let path = try row.decode(String.self, column: "path")
            if try row.decode(Bool.self, column: "done") { done.insert(path) }
            if try row.decode(Bool.self, column: "failed") { failed.insert(path) }
            active += try row.decode(Int.self, column: "active")
        }
        return (done, failed, active)
    }

    func snapshot() async throws -> Snapshot {
        try await connection.transaction(idempotent: true) { transaction in
            try transaction.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let checkpoints = try transaction.query("SELECT id, path, fingerprint FROM checkpoints ORDER BY id").map { row in
                CheckpointRow(
                    id: try row.decode(Int64.self, column: "id"),
                    path: try row.decode(String.self, column: "path"),
                    fingerprint: try row.decode(String.self, column: "fingerprint"))
            }
            let jobs = try transaction.query(
                "SELECT id, checkpoint_id, kind, shard, shards, state, attempts, error_code, last_error FROM jobs ORDER BY id"
            ).map { row in
                JobRow(
                    id: try row.decode(Int64.self, column: "id"),
                    checkpointID: try row.decode(Int64.self, column: "checkpoint_id"),
                    kind: try row.decode(String.self, column: "kind"),
                    shard: try row.decode(Int.self, column: "shard"),
                    shards: try row.decode(Int.self, column: "shards"),
                    state: try row.decode(String.self, column: "state"),
                    attempts: try row.decode(Int.self, column: "attempts"),
                    errorCode: try row.decode(String?.self, column: "error_code"),
                    lastError: try row.decode(String?.self, column: "last_error"))
            }
            let estimates = try transaction.query(
                """
                SELECT e.checkpoint_id, e.cutoff, e.preconditioner, e.skipped, e.log_volume,
                       (SELECT count(*) FROM estimate_samples s WHERE s.estimate_id = e.id) AS samples
                FROM estimates e ORDER BY e.id
                """
            ).map { row in
                EstimateRow(
                    checkpointID: try row.decode(Int64.self, column: "checkpoint_id"),
                    cutoff: try row.decode(Double.self, column: "cutoff"),
                    preconditioner: try row.decode(String.self, column: "preconditioner"),
                    skipped: try row.decode(String?.self, column: "skipped"),
                    logVolume: try row.decode(Double?.self, column: "log_volume"),
                    samples: try row.decode(Int.self, column: "samples"))
            }
            let llcEstimates = try transaction.query(
                """
                SELECT l.checkpoint_id, l.chains, (SELECT count(*) FROM llc_samples s WHERE s.llc_estimate_id = l.id) AS samples
                FROM llc_estimates l ORDER BY l.id
                """
            ).map { row in
                LLCRow(
                    checkpointID: try row.decode(Int64.self, column: "checkpoint_id"),
                    chains: try row.decode(Int.self, column: "chains"),
                    samples: try row.decode(Int.self, column: "samples"))
            }
            let duplicateKeys = try transaction.query(
                """
                SELECT count(*) AS groups FROM (
                    SELECT 1 FROM estimates
                    GROUP BY checkpoint_id, cutoff, preconditioner, preconditioner_params, eval_fingerprint,
                             prior, prior_center, sigma_rule, directions, seed, tolerance
                    HAVING count(*) > 1) AS d
                """
            ).first.map { try $0.decode(Int.self, column: "groups") } ?? 0
            // Shard results of estimates whose shards are all done: the last shard should have
            // aggregated and deleted them.
            let leftoverShardRows = try transaction.query(
                """
                SELECT count(*) AS n FROM shard_outcomes o JOIN jobs j ON j.id = o.job_id
                WHERE NOT EXISTS (SELECT 1 FROM jobs g WHERE g.checkpoint_id = j.checkpoint_id
                                  AND g.settings_key = j.settings_key AND g.state <> 'done')
                """
            ).first.map { try $0.decode(Int.self, column: "n") } ?? 0
            return Snapshot(checkpoints: checkpoints, jobs: jobs, estimates: estimates, llcEstimates: llcEstimates,
                            duplicateKeys: duplicateKeys,
                            leftoverShardRows: leftoverShardRows)
        }
    }
}
