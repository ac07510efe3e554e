import Base
import Dashboard
import DB
import Foundation

/// How long the server takes to produce a run page: reading the run (`DashboardStore.run`),
/// rendering it (`DashboardPages.run`), and both in a row as a request does. Milliseconds per
/// repetition, in order.
public struct RunPageTiming: Sendable, Equatable {
    public let checkpoints: Int
    public let series: Int
    public let samplesPerEstimate: Int
    /// Points the read returned (one per checkpoint and series).
    public let points: Int
    /// Checkpoints the read returned.
    public let checkpointRows: Int
    /// The rendered page's size in UTF-8 bytes.
    public let pageBytes: Int
    public let queryMilliseconds: [Double]
    public let renderMilliseconds: [Double]
    public let totalMilliseconds: [Double]
}

public enum DashboardBenchmark {
    /// The target for one run page with 1,000 checkpoints × 4 series.
    public static let targetMilliseconds = 50.0

    /// Fills a scratch schema of `database` (created, migrated and dropped again, even on
    /// failure) with one run of `checkpoints` checkpoints, each with one computed estimate per
    /// series (`samplesPerEstimate` samples each) and a finished job, then times the run page
    /// `repetitions` times after one untimed warm-up.
    public static func measureRunPage(
        database: Database,
        checkpoints: Int = 1000,
        series: Int = 4,
        samplesPerEstimate: Int = 100,
        repetitions: Int = 20
    ) async throws -> RunPageTiming {
        guard checkpoints > 0, series > 0, samplesPerEstimate > 0, repetitions > 0 else {
            throw BenchmarkError(
                code: "bench.parameter",
                "run page benchmark sizes must be positive (got \(checkpoints) checkpoints, \(series) series, \(samplesPerEstimate) samples, \(repetitions) repetitions)")
        }
        let schema = "volumed_bench_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try await database.connect()
        try await admin.execute("CREATE SCHEMA \(Connection.quoteIdentifier(schema))")
        do {
            let connection = try await database.connect(options: ConnectionOptions(applicationName: "volumed bench", searchPath: schema))
            let result = try await measure(connection, checkpoints: checkpoints, series: series,
                                           samplesPerEstimate: samplesPerEstimate, repetitions: repetitions)
            await connection.close()
            try await admin.execute("DROP SCHEMA \(Connection.quoteIdentifier(schema)) CASCADE", idempotent: true)
            await admin.close()
            return result
        } catch {
            _ = try? await admin.execute("DROP SCHEMA \(Connection.quoteIdentifier(schema)) CASCADE", idempotent: true)
            await admin.close()
            throw error
        }
    }

    private static func measure(
        _ connection: Connection, checkpoints: Int, series: Int, samplesPerEstimate: Int, repetitions: Int
    ) async throws -> RunPageTiming {
        try await Migrator().migrate(connection)
        let run = try await populate(connection, checkpoints: checkpoints, series: series, samplesPerEstimate: samplesPerEstimate)
        let store = DashboardStore(connection: connection)
        let clock = ContinuousClock()
        var query: [Double] = [], render: [Double] = [], total: [Double] = []
        var last: (detail: RunDetail, page: String)?
        for repetition in 0...repetitions {
            let start = clock.now
            guard let detail = try await store.run(id: run.id) else {
                throw BenchmarkError(code: "bench.incomplete", "the benchmark's run \(run.id) vanished")
            }
            let read = clock.now
            let page = DashboardPages.run(detail, axis: .linear)
            let end = clock.now
            last = (detail, page)
            guard repetition > 0 else { continue }  // the warm-up
            query.append(1000 * (read - start).seconds)
            render.append(1000 * (end - read).seconds)
            total.append(1000 * (end - start).seconds)
        }
        guard let last else { throw BenchmarkError(code: "bench.incomplete", "the run page was never rendered") }
        return RunPageTiming(
            checkpoints: checkpoints, series: series, samplesPerEstimate: samplesPerEstimate,
            points: last.detail.points.count, checkpointRows: last.detail.checkpoints.count,
            pageBytes: last.page.utf8.count,
            queryMilliseconds: query, renderMilliseconds: render, totalMilliseconds: total)
    }

    /// One run, `checkpoints` steps (100, 200, …), and per checkpoint one estimate per series
    /// (`none` and `adam` × cutoffs 1e-2, 1e-3, … as needed) with its samples, the paths and
    /// fingerprints as long as the daemon's: set-based SQL, since going through the job queue
    /// would take longer than the measurement.
    private static func populate(
        _ connection: Connection, checkpoints: Int, series: Int, samplesPerEstimate: Int
    ) async throws -> RunRecord {
        let run = try await ResultStore(connection: connection).upsertRun(name: "bench", path: "/srv/watch/bench")
        let preconditioners = (0..<series).map { $0 % 2 == 0 ? "none" : "adam" }
        let params = (0..<series).map { $0 % 2 == 0 ? "" : "eps=0.001,exponent=0.5" }
        let cutoffs = (0..<series).map { pow(10, -2 - Double($0 / 2)) }
        try await connection.transaction { transaction in
            try transaction.execute(
                """
                INSERT INTO checkpoints (run_id, step, path, fingerprint, n_params, architecture)
                SELECT $1::bigint, 100 * n, '/srv/watch/bench/checkpoint-' || (100 * n),
                       'sha256:' || encode(sha256(n::text::bytea), 'hex'), 4810, 'mlp'
                FROM generate_series(1, $2) AS n
                """,
                [run.id, checkpoints]
            )
            try transaction.execute(
                """
                INSERT INTO jobs (checkpoint_id, settings, settings_key, state, attempts, finished_at)
                SELECT id, '{}', 'bench', 'done', 1, now() FROM checkpoints WHERE run_id = $1
                """,
                [run.id]
            )
            // A volume that falls with the step, a different level per series.
            try transaction.execute(
                """
                INSERT INTO estimates (checkpoint_id, job_id, eval_fingerprint, cutoff, preconditioner,
                                       preconditioner_params, prior, prior_center, sigma_rule, sigma, directions,
                                       seed, tolerance, log_volume, log10_volume, bits, max_sample, ess,
                                       interval_low, interval_high, kl_evaluations, unbounded, nonfinite, seconds,
                                       software_version)
                SELECT c.id, j.id, 'eval-sha256:' || encode(sha256('bench'), 'hex'), s.cutoff, s.preconditioner, s.params, 'gaussian', 'zero', 'rms', 0.02,
                       $5::int, 0, 0.01, v.log_volume, v.log_volume / ln(10), v.log_volume / ln(2), v.log_volume + 5, 40,
                       v.log_volume - 2, v.log_volume + 1, 3 * $5::bigint, 0, 0, 0.5, 'bench'
                FROM checkpoints c
                JOIN jobs j ON j.checkpoint_id = c.id
                CROSS JOIN unnest($2::text[], $3::text[], $4::float8[]) WITH ORDINALITY AS s(preconditioner, params, cutoff, n)
                CROSS JOIN LATERAL (SELECT (-1000 - 10 * s.n - c.step / 100.0)::float8 AS log_volume) v
                WHERE c.run_id = $1
                """,
                [run.id, preconditioners, params, cutoffs, samplesPerEstimate]
            )
            try transaction.execute(
                """
                INSERT INTO estimate_samples (estimate_id, direction, radius, log_estimate, kl_evaluations)
                SELECT e.id, d, 0.5 + d / 100.0, e.log_volume - 1 + d / 1000.0, 3
                FROM estimates e CROSS JOIN generate_series(0, $1::int - 1) AS d
                """,
                [samplesPerEstimate]
            )
        }
        // As autovacuum would have by the time a run is this long.
        try await connection.execute("ANALYZE")
        return run
    }
}
