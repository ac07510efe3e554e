import Base
import DB
import Foundation

/// Throughput of the job queue: `workers` concurrent workers, each on its own connection,
/// claiming jobs and completing them with one estimate (with `samplesPerEstimate` samples)
/// until none is left.
public struct QueueThroughput: Sendable, Equatable {
    public let workers: Int
    public let jobs: Int
    public let seconds: Double
    /// Jobs claimed (and completed) per second, all workers together.
    public let claimsPerSecond: Double
    /// Mean time of one `claim` / one `complete` call as a worker saw it.
    public let meanClaimMilliseconds: Double
    public let meanCompleteMilliseconds: Double
}

public enum QueueBenchmark {
    /// Runs the benchmark in a scratch schema of `database` (created, migrated and dropped
    /// again, even on failure), so it can run against a database in use.
    public static func measureThroughput(
        database: Database,
        workers: Int = 4,
        jobs: Int = 1000,
        samplesPerEstimate: Int = 100
    ) async throws -> QueueThroughput {
        guard workers > 0, jobs > 0, samplesPerEstimate > 0 else {
            throw BenchmarkError(code: "bench.parameter", "benchmark workers, jobs and samples must be positive (got \(workers), \(jobs), \(samplesPerEstimate))")
        }
        let schema = "volumed_bench_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try await database.connect()
        try await admin.execute("CREATE SCHEMA \(Connection.quoteIdentifier(schema))")
        do {
            let result = try await run(database, schema: schema, workers: workers, jobs: jobs, samplesPerEstimate: samplesPerEstimate)
            try await admin.execute("DROP SCHEMA \(Connection.quoteIdentifier(schema)) CASCADE", idempotent: true)
            return result
        } catch {
            _ = try? await admin.execute("DROP SCHEMA \(Connection.quoteIdentifier(schema)) CASCADE", idempotent: true)
            throw error
        }
    }

    private struct WorkerTimes: Sendable {
        var claims = 0
        var claimSeconds = 0.0
        var completeSeconds = 0.0
    }

    private static func run(
        _ database: Database, schema: String, workers: Int, jobs: Int, samplesPerEstimate: Int
    ) async throws -> QueueThroughput {
        let options = ConnectionOptions(applicationName: "volumed bench", searchPath: schema)
        let setup = try await database.connect(options: options)
        try await Migrator().migrate(setup)
        let run = try await ResultStore(connection: setup).upsertRun(name: "bench", path: "bench")
        try await setup.execute(
            """
            INSERT INTO checkpoints (run_id, step, path, fingerprint)
            SELECT $1, step, 'bench/checkpoint-' || step, 'bench-' || step FROM generate_series(1, $2) AS step
            """,
            [run.id, jobs]
        )
        try await setup.execute(
            "INSERT INTO jobs (checkpoint_id, settings, settings_key) SELECT id, '{}', 'bench' FROM checkpoints ORDER BY id"
        )
        var connections: [Connection] = []
        for _ in 0..<workers { connections.append(try await database.connect(options: options)) }

        let samples = (0..<samplesPerEstimate).map {
            SampleRecord(direction: $0, radius: 1 + Double($0) / 100, logEstimate: -1000 - Double($0), klEvaluations: 3)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let times = try await withThrowingTaskGroup(of: WorkerTimes.self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask {
                    let queue = JobQueue(connection: connection)
                    var times = WorkerTimes()
                    while true {
                        let claimStart = clock.now
                        guard let job = try await queue.claim(owner: "bench-\(index)", leaseSeconds: 300) else { break }
                        let completeStart = clock.now
                        try await queue.complete(job, estimates: [benchmarkEstimate(samples)])
                        times.claims += 1
                        times.claimSeconds += (completeStart - claimStart) / .seconds(1)
                        times.completeSeconds += (clock.now - completeStart) / .seconds(1)
                    }
                    return times
                }
            }
            var all: [WorkerTimes] = []
            for try await times in group { all.append(times) }
            return all
        }
        let seconds = (clock.now - start) / .seconds(1)
        let claims = times.reduce(0) { $0 + $1.claims }
        guard claims == jobs else {
            throw BenchmarkError(code: "bench.incomplete", "benchmark completed \(claims) of \(jobs) jobs")
        }
        return QueueThroughput(
            workers: workers,
            jobs: jobs,
            seconds: seconds,
            claimsPerSecond: Double(claims) / seconds,
            meanClaimMilliseconds: 1000 * times.reduce(0) { $0 + $1.claimSeconds } / Double(claims),
            meanCompleteMilliseconds: 1000 * times.reduce(0) { $0 + $1.completeSeconds } / Double(claims)
        )
    }

    private static func benchmarkEstimate(_ samples: [SampleRecord]) -> EstimateRecord {
        EstimateRecord(
            key: EstimateKey(
                evalFingerprint: "bench", cutoff: 0.01, preconditioner: "none", preconditionerParams: "",
                prior: "gaussian", priorCenter: "zero", sigmaRule: "rms", directions: samples.count,
                seed: 0, tolerance: 0.01
            ),
            sigma: 0.02,
            softwareVersion: "bench",
            outcome: .computed(EstimateResult(
                logVolume: -1000, log10Volume: -1000 / M_LN10, bits: -1000 / M_LN2, maxSample: -1000,
                ess: 1, intervalLow: -1001, intervalHigh: -999, klEvaluations: Int64(3 * samples.count),
                unbounded: 0, nonfinite: 0, seconds: 0, secondsPreconditioner: nil, samples: samples
            ))
        )
    }
}
