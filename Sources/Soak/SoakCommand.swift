import ArgumentParser
import Base
import DB
import Foundation
import Glibc

/// `volumed-soak`: runs the built `volumed serve` on its embedded PostgreSQL while checkpoints
/// (good, bad, rewritten, deleted) land in its watch folder, SIGKILLs it at random moments and
/// restarts PostgreSQL under it once; then lets the queue drain, checks every row, stops the
/// daemon with SIGTERM and prints a summary. Exits non-zero on any violation.
@main
struct SoakCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volumed-soak",
        abstract: "Fault-injection soak of volumed serve: checkpoints, SIGKILLs and a PostgreSQL restart, then a check of every row.")

    @Option(help: "Seed of the schedule (which checkpoints, defects, rewrites, deletions and kill times).")
    var seed: UInt64 = 1

    @Option(help: "Checkpoints to write.")
    var checkpoints = 520

    @Option(help: "Moments at which the daemon is SIGKILLed (half of them wait for a running job; every fourth kills it once more during start-up).")
    var kills = 24

    @Option(help: "Length of the writing phase in minutes; draining and checking follow.")
    var minutes = 8.0

    @Option(help: "Longest wait, after the writing phase, for the queue to drain.")
    var drainSeconds = 180.0

    @Option(help: "The volumed executable (default: the one built next to volumed-soak).")
    var volumed: String?

    @Option(help: "The fixtures folder (default: fixtures/ of the source tree this was built from).")
    var fixtures: String?

    @Option(help: "Working folder (default: a new folder under /tmp); emptied at the end except for the logs of a failed soak.")
    var workDir: String?

    @Flag(help: "Keep the working folder (logs, checkpoints, database) at the end.")
    var keep = false

    /// Jobs of a few tenths of a second on the digits MLP: short enough for hundreds of
    /// checkpoints, long enough that some SIGKILLs land while a job runs. Adam, because only
    /// it reads `optimizer.pt` (where the hostile pickle is). Every estimate is sharded
    /// (`SoakPlan.shardDirections`); the language-model run's shards take seconds.
    static let expectation = Verdict.Expectation(cutoffs: [0.01, 0.1], preconditioners: ["none", "adam"], directions: 100)

    func validate() throws {
        guard checkpoints >= 1 else { throw ValidationError("--checkpoints must be at least 1") }
        guard kills >= 0 else { throw ValidationError("--kills must not be negative") }
        guard minutes * 60 >= 20 else { throw ValidationError("--minutes must be at least 1/3 (20 seconds)") }
    }

    func run() async throws {
        // Ctrl-C or SIGTERM: stop what runs, leave no daemon or cluster behind.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let soak = Task { try await self.soak() }
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { soak.cancel() }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        guard try await soak.value else { throw ExitCode(1) }
    }

    /// Returns whether the soak was clean.
    private func soak() async throws -> Bool {
        let began = ContinuousClock.now
        let plan = SoakPlan(seed: seed, checkpoints: checkpoints, kills: kills, duration: minutes * 60)
        let workspace = try workDir.map { try Self.makeFolder($0) } ?? Self.makeTemporaryFolder()
        let watch = try Self.makeFolder(workspace + "/watch")
        let state = try Self.makeFolder(workspace + "/state")
        let logs = try Self.makeFolder(workspace + "/logs")
        let configPath = workspace + "/volumed.toml"
        try Data(Self.configFile(Self.expectation).utf8).write(to: URL(fileURLWithPath: configPath))

        let writer = CheckpointWriter(root: watch, fixtures: try FixtureFiles(fixtures: fixtures ?? Self.defaultFixtures), seed: seed)
        let cluster = EmbeddedCluster(stateDirectory: state, logPath: logs + "/pg_ctl.log")
        let supervisor = Supervisor(
            executable: try volumed ?? Self.siblingVolumed(),
            arguments: ["serve", "--config", configPath, "--state-dir", state, "--watch", watch],
            logFolder: logs, cluster: cluster)
        Console.line(
            "soak: seed \(seed): \(plan.checkpoints.count) checkpoints (\(plan.good.count) good, \(plan.bad.count) bad, "
                + "\(plan.deleted.count) to be deleted, \(plan.rewrites) identical rewrites) into \(plan.runs.count) runs, "
                + "\(plan.checkpoints.filter { $0.content == .language }.count) of them language models in shards of "
                + "\(SoakPlan.shardDirections) of their \(SoakPlan.languageDirections) directions, over "
                + "\(String(format: "%.1f", minutes)) min, \(plan.kills) SIGKILLs, 1 PostgreSQL restart; working folder \(workspace)")

        do {
            try await supervisor.start()
            let database = try await SoakDatabase.connect(stateDirectory: state)
            let generator = Generator(plan: plan, writer: writer, database: database)
            let start = ContinuousClock.now
            let written = try await withThrowingTaskGroup(of: Generator.Report?.self) { group in
                group.addTask { try await generator.run(from: start) }
                group.addTask {
                    try await supervisor.run(plan.faults, from: start) { try await database.isEstimating(daemon: $0) }
                    return nil
                }
                var report = Generator.Report()
                for try await case let result? in group { report = result }
                return report
            }
            Console.line("soak: writing phase over after \(String(format: "%.0f", (ContinuousClock.now - start).seconds)) s; draining the queue")
            try await drain(plan: plan, writer: writer, database: database, supervisor: supervisor)

            let snapshot = try await database.snapshot()
            await database.close()
            await supervisor.stop()
            let verdict = Verdict(plan: plan, generator: written, writer: writer, snapshot: snapshot, expectation: Self.expectation)
            let summary = SoakSummary(
                plan: plan, generator: written, supervisor: await supervisor.report, verdict: verdict,
                seconds: (ContinuousClock.now - began).seconds)
            for line in summary.lines { Console.line(line) }
            cleanUp(workspace, logs: logs, clean: summary.isClean)
            return summary.isClean
        } catch {
            await supervisor.abort()
            Console.line("soak: stopped: \(error is CancellationError ? "interrupted" : "\(error)")")
            cleanUp(workspace, logs: logs, clean: false)
            throw ExitCode(2)
        }
    }

    /// Removes the working folder (database, checkpoints) once nothing runs in it any more; after
    /// a failure the logs stay for diagnosis, and `--keep` keeps everything.
    private func cleanUp(_ workspace: String, logs: String, clean: Bool) {
        if keep {
            Console.line("soak: logs, checkpoints and database kept in \(workspace)")
            return
        }
        let manager = FileManager.default
        let entries = (try? manager.contentsOfDirectory(atPath: workspace)) ?? []
        for entry in entries where clean || workspace + "/" + entry != logs {
            try? manager.removeItem(atPath: workspace + "/" + entry)
        }
        if clean {
            // A folder named with --work-dir is left, emptied.
            if workDir == nil { try? manager.removeItem(atPath: workspace) }
        } else {
            Console.line("soak: the daemon's and pg_ctl's logs are kept in \(logs)")
        }
    }

    /// Waits until no job is queued or running, every good checkpoint's job is done and every
    /// bad one's failed, and that has held through a periodic rescan (which must add nothing).
    /// Gives up, leaving the verdict to say what is missing, when the queue has been idle and
    /// unchanged for `stalled` without that, or after `drainSeconds`.
    private func drain(plan: SoakPlan, writer: CheckpointWriter, database: SoakDatabase, supervisor: Supervisor) async throws {
        let good = Set(plan.good.map { writer.path(of: $0) })
        let bad = Set(plan.bad.map { writer.path(of: $0) })
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(drainSeconds * 1000))
        let quiet = Duration.seconds(15)
        let stalled = Duration.seconds(45)
        var last: [Int]?
        var unchangedSince = clock.now
        while clock.now < deadline {
            try await supervisor.keepAlive()
            let progress = try await database.progress()
            let signature = [progress.done.count, progress.failed.count, progress.active]
            if signature != last {
                last = signature
                unchangedSince = clock.now
            }
            let idle = progress.active == 0
            if idle, good.isSubset(of: progress.done), bad.isSubset(of: progress.failed) {
                if clock.now - unchangedSince >= quiet { return }
            } else if idle, clock.now - unchangedSince >= stalled {
                Console.line("soak: the queue has been idle for \(Int(stalled.seconds)) s with checkpoints still unaccounted for")
                return
            }
            try await Task.sleep(for: .seconds(1))
        }
        Console.line("soak: the queue did not drain within \(Int(drainSeconds)) s")
    }

    static func configFile(_ expectation: Verdict.Expectation) -> String {
        """
        # Written by volumed-soak: fast jobs, quick settling and rescans, short leases so that a
        # killed daemon's job is taken over within seconds, and attempts to spare for kills.
        [watch]
        settle_seconds = 1
        rescan_seconds = 10

        [estimate]
        cutoffs = [\(expectation.cutoffs.map { "\($0)" }.joined(separator: ", "))]
        preconditioners = [\(expectation.preconditioners.map { "\"\($0)\"" }.joined(separator: ", "))]
        directions = \(expectation.directions)

        [workers]
        count = 2
        threads = 1
        lease_seconds = 5
        max_attempts = 5
        shard_directions = \(SoakPlan.shardDirections)

        """
    }

    /// `fixtures/` of the source tree this was built from.
    static var defaultFixtures: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("fixtures").path
    }

    static func siblingVolumed() throws -> String {
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let path = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("volumed").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SoakError("no volumed executable at \(path): build it (swift build --product volumed) or pass --volumed")
        }
        return path
    }

    /// PostgreSQL (run as `postgres` when we are root) must reach the state folder inside.
    private static func makeFolder(_ path: String) throws -> String {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST, chmod(path, 0o755) == 0 else { throw SoakError.system("mkdir", path) }
        return path
    }

    private static func makeTemporaryFolder() throws -> String {
        var template = Array("/tmp/volumed-soak.XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw SoakError.system("mkdtemp", "/tmp/volumed-soak.XXXXXX") }
        return try makeFolder(String(cString: created))
    }
}
