import DB

/// One row of `estimates`, with its checkpoint's run and step.
struct EstimateRow: Equatable, CustomStringConvertible {
    var id: Int64
    var run: String
    var step: Int64?
    var cutoff: Double
    var preconditioner: String
    var skipped: String?
    var logVolume: Double?
    /// How long the estimate took.
    var seconds: Double?
    var jobID: Int64?
    /// As PostgreSQL prints it (exact to the microsecond).
    var createdAt: String

    /// What identifies the row within one run under fixed settings.
    var combination: Combination { Combination(run: run, step: step, cutoff: cutoff, preconditioner: preconditioner) }

    struct Combination: Hashable, CustomStringConvertible {
        var run: String
        var step: Int64?
        var cutoff: Double
        var preconditioner: String

        var description: String { "\(run) step \(step.map(String.init) ?? "-") cutoff \(cutoff) \(preconditioner)" }
    }

    var description: String { "#\(id) \(combination) job \(jobID.map(String.init) ?? "-")\(skipped.map { " skipped: \($0)" } ?? "")" }
}

/// One row of `jobs`, with its checkpoint's run, step and path.
struct JobRow: Equatable, CustomStringConvertible {
    var id: Int64
    var run: String
    var step: Int64?
    var checkpointPath: String
    var state: String
    var attempts: Int
    var errorCode: String?
    var lastError: String?
    var leaseExpiresAt: String?
    var finishedAt: String?

    var description: String {
        "job \(id) \(run) step \(step.map(String.init) ?? "-") \(state) attempts \(attempts)"
            + (errorCode.map { " [\($0)] " } ?? "") + (lastError ?? "")
    }
}

/// The daemon's results as a user sees them in SQL.
struct ResultTables: Sendable {
    let connection: Connection

    func estimates() async throws -> [EstimateRow] {
        try await connection.query(
            """
            SELECT e.id, r.name AS run, c.step, e.cutoff, e.preconditioner, e.skipped, e.log_volume, e.seconds, e.job_id,
                   e.created_at::text AS created_at
            FROM estimates e JOIN checkpoints c ON c.id = e.checkpoint_id JOIN runs r ON r.id = c.run_id
            ORDER BY e.id
            """,
            idempotent: true
        ).map { row in
            EstimateRow(
                id: try row.decode(Int64.self, column: "id"),
                run: try row.decode(String.self, column: "run"),
                step: try row.decode(Int64?.self, column: "step"),
                cutoff: try row.decode(Double.self, column: "cutoff"),
                preconditioner: try row.decode(String.self, column: "preconditioner"),
                skipped: try row.decode(String?.self, column: "skipped"),
                logVolume: try row.decode(Double?.self, column: "log_volume"),
                seconds: try row.decode(Double?.self, column: "seconds"),
                jobID: try row.decode(Int64?.self, column: "job_id"),
                createdAt: try row.decode(String.self, column: "created_at"))
        }
    }

    func jobs() async throws -> [JobRow] {
        try await connection.query(
            """
            SELECT j.id, r.name AS run, c.step, c.path, j.state, j.attempts, j.error_code, j.last_error,
                   j.lease_expires_at::text AS lease_expires_at, j.finished_at::text AS finished_at
            FROM jobs j JOIN checkpoints c ON c.id = j.checkpoint_id JOIN runs r ON r.id = c.run_id
            ORDER BY j.id
            """,
            idempotent: true
        ).map { row in
            JobRow(
                id: try row.decode(Int64.self, column: "id"),
                run: try row.decode(String.self, column: "run"),
                step: try row.decode(Int64?.self, column: "step"),
                checkpointPath: try row.decode(String.self, column: "path"),
                state: try row.decode(String.self, column: "state"),
                attempts: try row.decode(Int.self, column: "attempts"),
                errorCode: try row.decode(String?.self, column: "error_code"),
                lastError: try row.decode(String?.self, column: "last_error"),
                leaseExpiresAt: try row.decode(String?.self, column: "lease_expires_at"),
                finishedAt: try row.decode(String?.self, column: "finished_at"))
        }
    }

    /// The jobs, once none is queued or running and there are at least `count`; nil before.
    func settledJobs(atLeast count: Int) async throws -> [JobRow]? {
        let jobs = try await jobs()
        guard jobs.count >= count, jobs.allSatisfy({ $0.state == "done" || $0.state == "failed" }) else { return nil }
        return jobs
    }
}
