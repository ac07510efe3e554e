import ArgumentParser
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

    @Option(help: "Moments at which the daemon is SIGKILLed (a quarter of them kill it twice: once more during start-up).")
    var kills = 24

    @Option(help: "Length of the writing phase in minutes; draining and checking follow.")
    var minutes = 8.0

    @Option(help: "Longest wait, after the writing phase, for the queue to drain.")
    var drainSeconds = 180.0

    @Option(help: "The volumed executable (default: the one built next to volumed-soak).")
    var volumed: String?

    @Option(help: "The test fixtures folder (Tests/EstimatorTests/Fixtures).")
    var fixtures: String?

    @Option(help: "Working folder (default: a new folder under /tmp, removed after a clean soak).")
    var workDir: String?

    @Flag(help: "Keep the working folder (logs, checkpoints, database) after a clean soak.")
    var keep = false

    /// Small, so that jobs take milliseconds: the soak is about the daemon, not the numbers.
    static let expectation = Verdict.Expectation(cutoffs: [0.01, 0.1], preconditioners: ["none", "adam"], directions: 8)

    func validate() throws {
        guard checkpoints >= 1 else { throw ValidationError("--checkpoints must be at least 1") }
        guard kills >= 0 else { throw ValidationError("--kills must not be negative") }
        guard minutes * 60 >= 20 else { throw ValidationError("--minutes must be at least 1/3 (20 seconds)") }
    }

    func run() async throws {
        // Progress lines show up as they happen, also in a log file.
        setvbuf(stdout, nil, _IOLBF, 0)
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
        print("soak: seed \(seed): \(plan.checkpoints.count) checkpoints (\(plan.good.count) good, \(plan.bad.count) bad, "
              + "\(plan.deleted.count) to be deleted, \(plan.rewrites) identical rewrites) into \(plan.runs.count) runs over "
              + "\(String(format: "%.1f", minutes)) min, \(plan.kills) SIGKILLs, 1 PostgreSQL restart; working folder \(workspace)")

        do {
            try await supervisor.start()
            let database = try await SoakDatabase.connect(stateDirectory: state)
            let generator = Generator(plan: plan, writer: writer, database: database)
            let start = ContinuousClock.now
            let written = try await withThrowingTaskGroup(of: Generator.Report?.self) { group in
                group.addTask { try await generator.run(from: start) }
                group.addTask {
                    try await supervisor.run(plan.faults, from: start)
                    return nil
                }
                var report: Generator.Report?
                for try await result in group where result != nil { report = result }
                return report!
            }
            print("soak: writing phase over after \(String(format: "%.0f", (ContinuousClock.now - start).seconds)) s; draining the queue")
            try await drain(plan: plan, writer: writer, database: database, supervisor: supervisor)

            let snapshot = try await database.snapshot()
            await database.close()
            let verdict = Verdict(plan: plan, generator: written, writer: writer, snapshot: snapshot, expectation: Self.expectation)
            await supervisor.stop()
            let summary = SoakSummary(plan: plan, generator: written, supervisor: await supervisor.report, verdict: verdict)
            for line in summary.lines { print(line) }
            if summary.isClean && !keep {
                try? FileManager.default.removeItem(atPath: workspace)
            } else {
                print("soak: logs, checkpoints and database kept in \(workspace)")
            }
            return summary.isClean
        } catch {
            await supervisor.abort()
            print("soak: stopped: \(error is CancellationError ? "interrupted" : "\(error)"); everything is kept in \(workspace)")
            throw ExitCode(2)
        }
    }

    /// Waits until no job is queued or running, every good checkpoint's job is done and every
    /// bad one's failed, and that has held for a while (a restarted daemon rescans everything);
    /// gives up after `drainSeconds` and lets the verdict say what is missing.
    private func drain(plan: SoakPlan, writer: CheckpointWriter, database: SoakDatabase, supervisor: Supervisor) async throws {
        let good = Set(plan.good.map { writer.path(of: $0) })
        let bad = Set(plan.bad.map { writer.path(of: $0) })
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(drainSeconds * 1000))
        let quiet = Duration.seconds(15)
        var settledSince: ContinuousClock.Instant?
        while clock.now < deadline {
            try await supervisor.keepAlive()
            let progress = try await database.progress()
            if progress.active == 0, good.isSubset(of: progress.done), bad.isSubset(of: progress.failed) {
                let since = settledSince ?? clock.now
                settledSince = since
                if clock.now - since >= quiet { return }
            } else {
                settledSince = nil
            }
            try await Task.sleep(for: .seconds(1))
        }
        print("soak: the queue did not drain within \(Int(drainSeconds)) s")
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

        """
    }

    /// `Tests/EstimatorTests/Fixtures` of the source tree this was built from.
    static var defaultFixtures: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/EstimatorTests/Fixtures").path
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
