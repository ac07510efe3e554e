import Base
import DB
import ProcessHarness
import Foundation
import Glibc

/// A running `volumed serve` (see `ServeWorkspace.withServe`): the process, what it sent to
/// its notification socket, and a connection to its database.
final class ServeDaemon: Sendable {
    /// What every `volumed` under test gets: no inherited `NOTIFY_SOCKET`, `JOURNAL_STREAM`,
    /// database URL or `PG*` settings from the test runner's environment.
    static let baseEnvironment = ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/"]

    let process: VolumedProcess
    let notifications: NotifySocket
    let tables: ResultTables
    let stateDirectory: String

    private init(process: VolumedProcess, notifications: NotifySocket, tables: ResultTables, stateDirectory: String) {
        self.process = process
        self.notifications = notifications
        self.tables = tables
        self.stateDirectory = stateDirectory
    }

    /// Starts the daemon and waits (up to a minute: a new cluster is initialized first) for
    /// READY=1, then connects to its database.
    static func start(
        arguments: [String], environment: [String: String], user: ProcessUser, logPath: String, notifySocket: String,
        stateDirectory: String
    ) async throws -> ServeDaemon {
        let notifications = try NotifySocket(path: notifySocket)
        let process = try VolumedProcess(
            arguments, environment: baseEnvironment.merging(["NOTIFY_SOCKET": notifySocket]) { $1 }.merging(environment) { $1 },
            user: user, logPath: logPath)
        do {
            try await waitUntil("READY=1 from volumed serve", process: process) {
                notifications.lines.contains("READY=1") ? true : nil
            }
            // The daemon's own connections are not disturbed: this one goes straight to the socket
            // (no cluster lock taken), and gives up quickly once the daemon has stopped the server.
            let connection = try await Connection.connect(
                to: ClusterLayout(stateDirectory: stateDirectory).connectionString(),
                options: ConnectionOptions(reconnect: ReconnectPolicy(giveUpAfter: .seconds(2)), applicationName: "volumed-e2e-test"))
            return ServeDaemon(process: process, notifications: notifications, tables: ResultTables(connection: connection),
                               stateDirectory: stateDirectory)
        } catch {
            await process.stop()
            notifications.stop()
            _ = await stopLeftoverCluster(stateDirectory)
            throw error
        }
    }

    /// Polls `probe` every 200 ms until it returns a value; fails after `timeout`, or at once
    /// when the daemon has exited, with the daemon's log.
    @discardableResult
    func eventually<T>(_ what: String, timeout: Duration = .seconds(60), _ probe: () async throws -> T?) async throws -> T {
        try await Self.waitUntil(what, process: process, timeout: timeout, probe)
    }

    @discardableResult
    private static func waitUntil<T>(
        _ what: String, process: VolumedProcess, timeout: Duration = .seconds(60), _ probe: () async throws -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let value = try await probe() { return value }
            if let termination = process.termination {
                throw HarnessError("volumed ended (\(termination)) while waiting for \(what); log:\n\(process.logTail)")
            }
            guard ContinuousClock.now < deadline else {
                throw HarnessError("gave up after \(timeout) waiting for \(what); log:\n\(process.logTail)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Everything the daemon has logged so far.
    var log: String { process.log }

    /// Stops the daemon if it still runs (SIGTERM, SIGKILL after 30 s), then any PostgreSQL it
    /// left behind.
    @discardableResult
    func shutDown() async -> (termination: Termination, killed: Bool, clusterLeftRunning: Bool) {
        await tables.connection.close()
        let (termination, killed) = await process.stop()
        notifications.stop()
        let leftRunning = await Self.stopLeftoverCluster(stateDirectory)
        return (termination, killed, leftRunning)
    }

    /// A postmaster still running on the state directory's data (a killed daemon leaves it)
    /// gets a fast shutdown (SIGINT), then SIGKILL after 20 s. Returns whether one was running.
    static func stopLeftoverCluster(_ stateDirectory: String) async -> Bool {
        let pidFile = ClusterLayout(stateDirectory: stateDirectory).dataDirectory + "/postmaster.pid"
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = text.split(separator: "\n").first.flatMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) }),
              pid > 0, isAlive(pid)
        else { return false }
        kill(pid, SIGINT)
        let deadline = ContinuousClock.now + .seconds(20)
        while isAlive(pid), ContinuousClock.now < deadline {
            await pause(.milliseconds(50))
        }
        if isAlive(pid) { kill(pid, SIGKILL) }
        return true
    }

    /// Alive and not a zombie waiting to be reaped.
    private static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ", options: .backwards)
        else { return false }
        return stat[afterName.upperBound...].first != "Z"
    }
}
