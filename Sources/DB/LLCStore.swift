import Foundation

/// LLC estimates (`llc_estimates`, `llc_samples`): storing one with its traces, idempotent on
/// its identity (checkpoint, eval fingerprint, settings key), and the reads behind
/// `volumed status` and `volumed report`. Jobs store theirs with `JobQueue.completeLLC`.
public struct LLCStore: Sendable {
    public let connection: Connection

    /// Channel notified when an LLC estimate commits; payload `{"checkpoint_id": …, "llc_estimate_id": …}`.
    public static let notificationChannel = "volumed_llc"

    public init(connection: Connection) {
        self.connection = connection
    }

    /// Stores `record` for the checkpoint unless its identity is stored; returns the new row's
    /// id, or nil when it was already there.
    @discardableResult
    public func insert(_ record: LLCRecord, checkpointID: Int64, jobID: Int64? = nil) async throws -> Int64? {
        try await connection.transaction(idempotent: true) { transaction in
            try Self.insert(record, checkpointID: checkpointID, jobID: jobID, transaction)
        }
    }

    /// Inserts the estimate, its samples and the notification in the caller's transaction.
    static func insert(_ record: LLCRecord, checkpointID: Int64, jobID: Int64?, _ transaction: Transaction) throws -> Int64? {
        let columns = ["checkpoint_id", "job_id"] + LLCRecord.columnNames
        let placeholders = columns.enumerated().map { index, name in
            LLCRecord.casts[name].map { "$\(index + 1)::\($0)" } ?? "$\(index + 1)"
        }
        let rows = try transaction.query(
            """
            INSERT INTO llc_estimates (\(columns.joined(separator: ", ")))
            VALUES (\(placeholders.joined(separator: ", ")))
            ON CONFLICT ON CONSTRAINT llc_estimates_identity DO NOTHING
            RETURNING id
            """,
            [checkpointID, jobID] + record.values
        )
        guard let id = try rows.first?.decode(Int64.self, column: "id") else { return nil }
        var chains: [Int] = [], steps: [Int] = [], losses: [Double] = []
        for (chain, trace) in record.chains.enumerated() {
            for (step, loss) in trace.losses.enumerated() {
                chains.append(chain)
                steps.append(step)
                losses.append(loss)
            }
        }
        if !losses.isEmpty {
            try transaction.execute(
                """
                INSERT INTO llc_samples (llc_estimate_id, chain, step, loss)
                SELECT $1, chain, step, loss FROM unnest($2::integer[], $3::integer[], $4::float8[]) AS s(chain, step, loss)
                """,
                [id, chains, steps, losses]
            )
        }
        try transaction.execute(
            "SELECT pg_notify($1, json_build_object('checkpoint_id', $2::bigint, 'llc_estimate_id', $3::bigint)::text)",
            [notificationChannel, checkpointID, id]
        )
        return id
    }

    /// Every LLC estimate of the checkpoint with its traces, oldest first.
    public func estimates(checkpointID: Int64) async throws -> [StoredLLC] {
        try await connection.transaction(idempotent: true) { transaction in
            let rows = try transaction.query(
                """
                SELECT id, checkpoint_id, job_id, created_at, eval_fingerprint, eval_data::text AS eval_data, settings_key,
                       parameters, epsilon, gamma, nbeta, nbeta_rule, draws, burn_in, batch_size, seed, dimension,
                       init_loss, llc_mean, llc_std, seconds, seconds_per_draw, software_version
                FROM llc_estimates WHERE checkpoint_id = $1 ORDER BY id
                """,
                [checkpointID]
            )
            let chainRows = try transaction.query(
                """
                SELECT l.id, u.chain - 1 AS chain, u.llc, u.flat, u.step, u.kind, u.loss
                FROM llc_estimates l,
                     unnest(l.llc_per_chain, l.flat_after_burn_in, l.divergence_step, l.divergence_kind, l.divergence_loss)
                         WITH ORDINALITY AS u(llc, flat, step, kind, loss, chain)
                WHERE l.checkpoint_id = $1
                ORDER BY l.id, u.chain
                """,
                [checkpointID]
            )
            let sampleRows = try transaction.query(
                """
                SELECT s.llc_estimate_id, s.chain, s.loss FROM llc_samples s JOIN llc_estimates l ON l.id = s.llc_estimate_id
                WHERE l.checkpoint_id = $1 ORDER BY s.llc_estimate_id, s.chain, s.step
                """,
                [checkpointID]
            )
            struct ChainKey: Hashable { let id: Int64, chain: Int }
            var traces: [ChainKey: [Double]] = [:]
            for row in sampleRows {
                let key = ChainKey(id: try row.decode(Int64.self, column: "llc_estimate_id"),
                                   chain: try row.decode(Int.self, column: "chain"))
                traces[key, default: []].append(try row.decode(Double.self, column: "loss"))
            }
            var chains: [Int64: [LLCRecord.Chain]] = [:]
            for row in chainRows {
                let id = try row.decode(Int64.self, column: "id")
                let chain = try row.decode(Int.self, column: "chain")
                let divergence = try row.decode(Int?.self, column: "step").map { step in
                    LLCRecord.Chain.Divergence(step: step, kind: try row.decode(String.self, column: "kind"),
                                               loss: try row.decode(Double.self, column: "loss"))
                }
                chains[id, default: []].append(LLCRecord.Chain(
                    llc: try row.decode(Double.self, column: "llc"), losses: traces[ChainKey(id: id, chain: chain)] ?? [],
                    flatAfterBurnIn: try row.decode(Bool.self, column: "flat"), divergence: divergence))
            }
            return try rows.map { row in
                let id = try row.decode(Int64.self, column: "id")
                let record = LLCRecord(
                    evalFingerprint: try row.decode(String.self, column: "eval_fingerprint"),
                    evalData: try row.decode(String?.self, column: "eval_data"),
                    settingsKey: try row.decode(String.self, column: "settings_key"),
                    parameters: try row.decode(String.self, column: "parameters"),
                    epsilon: try row.decode(Double.self, column: "epsilon"),
                    gamma: try row.decode(Double.self, column: "gamma"),
                    nbeta: try row.decode(Double.self, column: "nbeta"),
                    nbetaRule: try row.decode(String.self, column: "nbeta_rule"),
                    draws: try row.decode(Int.self, column: "draws"),
                    burnIn: try row.decode(Int.self, column: "burn_in"),
                    batchSize: try row.decode(Int.self, column: "batch_size"),
                    seed: try row.decode(Int64.self, column: "seed"),
                    dimension: try row.decode(Int.self, column: "dimension"),
                    initLoss: try row.decode(Double.self, column: "init_loss"),
                    mean: try row.decode(Double.self, column: "llc_mean"),
                    standardDeviation: try row.decode(Double.self, column: "llc_std"),
                    seconds: try row.decode(Double.self, column: "seconds"),
                    secondsPerDraw: try row.decode(Double.self, column: "seconds_per_draw"),
                    softwareVersion: try row.decode(String.self, column: "software_version"),
                    chains: chains[id] ?? [])
                return StoredLLC(id: id, checkpointID: try row.decode(Int64.self, column: "checkpoint_id"),
                                 jobID: try row.decode(Int64?.self, column: "job_id"), record: record,
                                 createdAt: try row.decode(Date.self, column: "created_at"))
            }
        }
    }

    /// LLC against step (the `llc_by_step` view), optionally restricted to runs (by name);
    /// ordered by run, eval data, parameters, step.
    public func series(runs: [String]? = nil) async throws -> [LLCPoint] {
        try await connection.query(
            """
            SELECT run, run_id, step, checkpoint_id, eval_fingerprint, parameters, llc_mean, llc_std, chains, diverged_chains
            FROM llc_by_step
            WHERE ($1::text[] IS NULL OR run = ANY($1::text[]))
            ORDER BY run, run_id, eval_fingerprint, parameters, step NULLS FIRST
            """,
            [runs],
            idempotent: true
        ).map(LLCPoint.init(row:))
    }

    /// LLC jobs per state.
    public func queueCounts() async throws -> QueueCounts {
        try QueueCounts(rows: try await connection.query(
            "SELECT \(QueueCounts.selectList) FROM jobs j WHERE j.kind = 'llc' GROUP BY j.state",
            idempotent: true
        ))
    }

    /// The running LLC jobs, oldest first.
    public func running() async throws -> [RunningLLC] {
        try await connection.query(
            """
            SELECT j.id, j.checkpoint_id, r.name AS run, c.step, c.path, j.directions_done, j.directions_total,
                   j.started_at, now() AS now
            FROM jobs j
            JOIN checkpoints c ON c.id = j.checkpoint_id
            JOIN runs r ON r.id = c.run_id
            WHERE j.kind = 'llc' AND j.state = 'running'
            ORDER BY j.id
            """,
            idempotent: true
        ).map(RunningLLC.init(row:))
    }
}
