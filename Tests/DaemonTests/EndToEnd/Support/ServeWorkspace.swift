import Base
import DB
import ProcessHarness
import Foundation
import Glibc
import Testing

/// `[estimate]`, `[watch]` and `[workers]` for a daemon under test: few directions and a short
/// settle time, so that the real digits checkpoints are estimated in seconds.
struct ServeConfig {
    var cutoffs = [0.01, 0.1]
    var preconditioners = ["none", "adam"]
    var directions = 20
    /// nil: the default seed.
    var seed: UInt64? = nil
    var threads = 1
    var settleSeconds = 1
    var rescanSeconds = 300
    /// nil: the default (50).
    var shardDirections: Int? = nil

    var text: String {
        """
        [watch]
        settle_seconds = \(settleSeconds)
        rescan_seconds = \(rescanSeconds)

        [estimate]
        cutoffs = [\(cutoffs.map { "\($0)" }.joined(separator: ", "))]
        preconditioners = [\(preconditioners.map { "\"\($0)\"" }.joined(separator: ", "))]
        directions = \(directions)
        \(seed.map { "seed = \($0)" } ?? "")

        [workers]
        threads = \(threads)
        \(shardDirections.map { "shard_directions = \($0)" } ?? "")

        """
    }
}

/// One end-to-end test's folders: a watch root, a state directory (the embedded PostgreSQL
/// cluster), the configuration file, and the daemons' logs and notification sockets. Everything
/// is removed when the workspace goes away.
final class ServeWorkspace {
    /// The digits run (HF Trainer output of a small MLP) the estimator tests also use.
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/digits").path

    let folder: TemporaryDirectory
    let watchRoot: String
    let stateDirectory: String
    let configPath: String
    private var launches = 0

    init(config: ServeConfig = ServeConfig(), user: ProcessUser = .root) throws {
        folder = try TemporaryDirectory()
        // PostgreSQL (and an unprivileged daemon) must be able to reach everything in here.
        guard chmod(folder.path, 0o755) == 0 else { throw HarnessError("chmod \(folder.path): \(String(cString: strerror(errno)))") }
        watchRoot = try folder.makeFolder("watch")
        stateDirectory = try folder.makeFolder("state")
        configPath = folder.url("volumed.toml").path
        if case .nobody = user {
            let (uid, gid) = user.ids
            guard chown(stateDirectory, uid, gid) == 0 else { throw HarnessError("chown \(stateDirectory): \(String(cString: strerror(errno)))") }
        }
        try write(config)
    }

    /// Replaces the configuration file atomically (a reload never sees half a file).
    func write(_ config: ServeConfig) throws {
        let temporary = configPath + ".new"
        try Data(config.text.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, configPath) == 0 else { throw HarnessError("rename to \(configPath): \(String(cString: strerror(errno)))") }
    }

    // MARK: Runs and checkpoints

    /// Creates the run folder `run` with the digits eval file, and the manifest unless
    /// `manifest` is false. `evalName` renames the eval file (the manifest names it).
    @discardableResult
    func addRun(_ run: String, manifest: Bool = true, extraManifest: String = "", evalName: String = "digits_val.safetensors") throws -> String {
        let path = try folder.makeFolder("watch/\(run)")
        try FileManager.default.copyItem(atPath: Self.fixtures + "/digits_val.safetensors", toPath: path + "/" + evalName)
        if manifest {
            let text = try String(contentsOfFile: Self.fixtures + "/volume.toml", encoding: .utf8)
                .replacingOccurrences(of: "digits_val.safetensors", with: evalName)
            try Data((text + extraManifest).utf8).write(to: URL(fileURLWithPath: path + "/volume.toml"))
        }
        return path
    }

    /// How a checkpoint appears in a run folder.
    enum Arrival {
        /// Copied file by file into `checkpoint-N/`.
        case inPlace
        /// Written into `tmp-checkpoint-N/`, then renamed to `checkpoint-N/` (HF Trainer).
        case renamedFromTemporary
    }

    /// Copies the digits fixture `checkpoint-<fixtureStep>` into `run` as `checkpoint-<step>`.
    @discardableResult
    func addCheckpoint(_ fixtureStep: Int, to run: String, as step: Int? = nil, arrival: Arrival = .inPlace) throws -> String {
        let source = Self.fixtures + "/checkpoint-\(fixtureStep)"
        let runPath = watchRoot + "/" + run
        let final = runPath + "/checkpoint-\(step ?? fixtureStep)"
        switch arrival {
        case .inPlace:
            try FileManager.default.createDirectory(atPath: final, withIntermediateDirectories: false)
            for name in try FileManager.default.contentsOfDirectory(atPath: source).sorted() {
                try FileManager.default.copyItem(atPath: source + "/" + name, toPath: final + "/" + name)
            }
        case .renamedFromTemporary:
            let temporary = runPath + "/tmp-checkpoint-\(step ?? fixtureStep)"
            try FileManager.default.copyItem(atPath: source, toPath: temporary)
            guard rename(temporary, final) == 0 else { throw HarnessError("rename to \(final): \(String(cString: strerror(errno)))") }
        }
        return final
    }

    /// Copies the digits fixture `checkpoint-<fixtureStep>` into `run` as
    /// `tmp-checkpoint-<step>`, lets `edit` change it, then renames it to `checkpoint-<step>`:
    /// the daemon never sees the unedited files.
    @discardableResult
    func addEditedCheckpoint(_ fixtureStep: Int, to run: String, as step: Int, edit: (String) throws -> Void) throws -> String {
        let temporary = watchRoot + "/\(run)/tmp-checkpoint-\(step)"
        let final = watchRoot + "/\(run)/checkpoint-\(step)"
        try FileManager.default.copyItem(atPath: Self.fixtures + "/checkpoint-\(fixtureStep)", toPath: temporary)
        try edit(temporary)
        guard rename(temporary, final) == 0 else { throw HarnessError("rename to \(final): \(String(cString: strerror(errno)))") }
        return final
    }

    // MARK: Daemons

    /// Runs `volumed serve` on this workspace while `body` runs: waits for READY=1 on a fake
    /// notification socket (`$NOTIFY_SOCKET`) first, then stops it (SIGTERM; SIGKILL after
    /// 30 s) whatever `body` does, and makes sure its PostgreSQL is not left running. When
    /// `body` returns normally, also checks that the daemon exited 0 and stopped its cluster.
    func withServe<T>(
        as user: ProcessUser = .root,
        environment: [String: String] = [:],
        _ body: (ServeDaemon) async throws -> T
    ) async throws -> T {
        launches += 1
        let daemon = try await ServeDaemon.start(
            arguments: ["serve", "--config", configPath, "--state-dir", stateDirectory, "--watch", watchRoot],
            environment: environment, user: user,
            logPath: folder.url("serve-\(launches).log").path,
            notifySocket: folder.url("notify-\(launches).sock").path,
            stateDirectory: stateDirectory)
        let result: T
        do {
            result = try await body(daemon)
        } catch {
            await daemon.shutDown()
            throw error
        }
        let outcome = await daemon.shutDown()
        #expect(outcome.termination == .exited(0), "volumed serve ended with \(outcome.termination); log:\n\(daemon.process.logTail)")
        #expect(!outcome.killed)
        #expect(!outcome.clusterLeftRunning, "volumed serve exited without stopping its PostgreSQL")
        return result
    }

    /// Runs another `volumed` command (e.g. `status`) against this workspace's state directory
    /// and returns its exit and output.
    func run(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (termination: Termination, output: String) {
        launches += 1
        let process = try VolumedProcess(
            arguments + ["--state-dir", stateDirectory], environment: ServeDaemon.baseEnvironment,
            logPath: folder.url("command-\(launches).log").path)
        guard let termination = await process.waitForExit(timeout: timeout) else {
            await process.stop()
            throw HarnessError("volumed \(arguments.joined(separator: " ")) did not finish in \(timeout); output:\n\(process.logTail)")
        }
        return (termination, process.log)
    }

    /// Opens the database while no daemon runs (the cluster is started for `body`, then
    /// stopped), to look at what a stopped daemon left behind.
    func withStoppedDatabase<T>(_ body: (ResultTables) async throws -> T) async throws -> T {
        let database = try await Database.open(.embedded(stateDirectory: stateDirectory))
        do {
            let connection = try await database.connect()
            let result: T
            do {
                result = try await body(ResultTables(connection: connection))
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
            try await database.close()
            return result
        } catch {
            try? await database.close()
            throw error
        }
    }
}
