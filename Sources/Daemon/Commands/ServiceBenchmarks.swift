import Base
import Benchmarks
import DB
import Estimator
import Foundation

/// Issue "Results store": job-queue throughput with 4 workers on an embedded cluster.
struct QueueThroughputBenchmark {
    let jobs: Int

    func run() async throws {
        print("== job queue: \(jobs) jobs, 4 workers claiming with FOR UPDATE SKIP LOCKED (embedded PostgreSQL, fsync on)")
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("volumed-bench-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let database = try await Database.open(.embedded(stateDirectory: state))
        do {
            var rows = [["workers", "jobs", "seconds", "claims/s", "mean claim ms", "mean complete ms"]]
            for workers in [1, 4] {
                let r = try await QueueBenchmark.measureThroughput(database: database, workers: workers, jobs: jobs)
                rows.append([String(r.workers), String(r.jobs), format(r.seconds, 2), format(r.claimsPerSecond, 0),
                             format(r.meanClaimMilliseconds, 2), format(r.meanCompleteMilliseconds, 2)])
            }
            printTable(rows)
            print("")
        } catch {
            try? await database.close()
            throw error
        }
        try await database.close()
    }
}

/// Issue "A live dashboard": the server producing a run page (read + render) for one run of
/// `checkpoints` checkpoints × `series` series, on an embedded cluster.
struct RunPageBenchmark {
    let checkpoints: Int
    let series: Int
    let samplesPerEstimate = 100
    let repetitions = 20

    func run() async throws {
        print("== dashboard run page: \(checkpoints) checkpoints × \(series) series (\(samplesPerEstimate) samples each), \(repetitions) requests after one warm-up (embedded PostgreSQL)")
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("volumed-bench-dashboard-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let database = try await Database.open(.embedded(stateDirectory: state))
        do {
            let r = try await DashboardBenchmark.measureRunPage(
                database: database, checkpoints: checkpoints, series: series, samplesPerEstimate: samplesPerEstimate,
                repetitions: repetitions)
            var rows = [["part", "median ms", "max ms", "target ms"]]
            rows.append(["read (DashboardStore.run)", format(median(r.queryMilliseconds), 2), format(r.queryMilliseconds.max() ?? .nan, 2), ""])
            rows.append(["render (DashboardPages.run)", format(median(r.renderMilliseconds), 2), format(r.renderMilliseconds.max() ?? .nan, 2), ""])
            rows.append(["read + render", format(median(r.totalMilliseconds), 2), format(r.totalMilliseconds.max() ?? .nan, 2),
                         format(DashboardBenchmark.targetMilliseconds, 0)])
            printTable(rows)
            print("\(r.checkpointRows) checkpoints, \(r.points) points, page \(r.pageBytes) bytes\n")
        } catch {
            try? await database.close()
            throw error
        }
        try await database.close()
    }
}

/// Issue "The daemon": from a digits checkpoint's files being closed in the watch folder to its
/// results being committed, with `volumed serve` running as a separate process.
struct LatencyBenchmark {
    let examples: String
    let trials: Int
    let settleSeconds = 1.0

    func run() async throws {
        print("== latency: checkpoint closed → results committed (volumed serve, settle_seconds = \(format(settleSeconds, 0)), digits, none + adam, k = 100)")
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("volumed-latency-\(getpid())").path
        defer { try? fm.removeItem(atPath: root) }
        let watch = root + "/watch", state = root + "/state", run = watch + "/digits"
        try fm.createDirectory(atPath: run, withIntermediateDirectories: true)
        for file in ["volume.toml", "digits_val.safetensors"] {
            try fm.copyItem(atPath: examples + "/digits/" + file, toPath: run + "/" + file)
        }
        let configPath = root + "/volumed.toml"
        try "[watch]\nsettle_seconds = \(settleSeconds)\nrescan_seconds = 0\n".write(toFile: configPath, atomically: true, encoding: .utf8)

        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        daemon.arguments = ["serve", "--config", configPath, "--state-dir", state, "--watch", watch]
        daemon.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try daemon.run()
        defer {
            if daemon.isRunning {
                daemon.terminate()
                daemon.waitUntilExit()
            }
        }

        // The daemon started the cluster; this process adopts it.
        let database = try await waitForDatabase(state)
        let connection = try await database.connect()
        try await connection.listen(JobQueue.notificationChannel)
        let store = ResultStore(connection: connection)
        var latencies: [Double] = []
        for trial in 0..<trials {
            let name = "checkpoint-\(1000 + trial)"
            let target = run + "/" + name
            try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
            for file in ["model.safetensors", "optimizer.pt"] {
                try fm.copyItem(atPath: examples + "/digits/checkpoint-100/" + file, toPath: target + "/" + file)
            }
            let closed = ContinuousClock.now
            var committed: Duration?
            while committed == nil, ContinuousClock.now - closed < .seconds(60) {
                if let notification = try await connection.nextNotification(timeout: .milliseconds(200)),
                   let id = Int64(notification.payload),
                   try await store.estimates(checkpointID: id).count >= 2,
                   try await store.recentEstimates(limit: 2).allSatisfy({ $0.step == Int64(1000 + trial) }) {
                    committed = ContinuousClock.now - closed
                }
            }
            guard let committed else { throw BenchmarkError(code: "bench.latency", "no results for \(name) within 60 s") }
            latencies.append(committed.seconds)
        }
        printTable([["trials", "median s", "max s", "target s"],
                    [String(trials), format(median(latencies), 2), format(latencies.max() ?? .nan, 2), format(settleSeconds + 2, 1)]])
        print("")
        await connection.close()
        try await database.close()
    }

    private func waitForDatabase(_ state: String) async throws -> Database {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if FileManager.default.fileExists(atPath: state + "/postgres/data/postmaster.pid"),
               let database = try? await Database.open(.embedded(stateDirectory: state)) {
                if let connection = try? await database.connect() {
                    let ready = (try? await connection.query("SELECT 1 FROM schema_migrations LIMIT 1").count) == 1
                    await connection.close()
                    if ready { return database }
                }
                try? await database.close()
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchmarkError(code: "bench.latency", "the daemon's database did not come up within 60 s")
    }
}
