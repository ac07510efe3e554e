import Base
import DB
import ProcessHarness
import Foundation
import Glibc

/// A PostgreSQL server that demands a password (SCRAM), and `volumed` commands run against it:
/// for tests that hand `volumed` a secret and check that nothing it prints contains it. The
/// server is an embedded-style cluster that the test starts in a folder of its own; the
/// commands get its address as a connection string or URL, as they would a remote server's.
/// Every command's output (stdout and stderr together) is kept in `transcript`.
final class PasswordProtectedServer {
    /// The password of the server's `postgres` user.
    let password: String
    let workspace: ServeWorkspace
    let cluster: EmbeddedPostgres
    /// Each command run so far, with everything it printed.
    private(set) var transcript: [(command: String, output: String)] = []
    private var launches = 0

    private init(workspace: ServeWorkspace, cluster: EmbeddedPostgres, password: String) {
        self.workspace = workspace
        self.cluster = cluster
        self.password = password
    }

    /// Starts a server with a fresh password for `body`, and always stops it afterwards.
    static func with<T>(_ body: (PasswordProtectedServer) async throws -> T) async throws -> T {
        let workspace = try ServeWorkspace()
        let folder = try workspace.folder.makeFolder("server")
        let password = "volumed-secret-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let cluster = EmbeddedPostgres(
            stateDirectory: folder,
            options: EmbeddedPostgres.Options(durable: false, password: password, settings: ["shared_buffers": "16MB"]))
        let server = PasswordProtectedServer(workspace: workspace, cluster: cluster, password: password)
        do {
            try await cluster.start()
            let result = try await body(server)
            try await cluster.stop()
            return result
        } catch {
            _ = try? await cluster.stop()
            throw error
        }
    }

    /// The socket directory: the part of every connection description that shows which
    /// server a command used.
    var socketDirectory: String { cluster.layout.socketDirectory }

    /// A libpq `key=value` connection string with `password`.
    func connectionString(password: String) -> String {
        cluster.layout.connectionString(password: password)
    }

    /// A `postgresql://user:password@/volumed?host=…&port=…` URL with `password`.
    func url(password: String) -> String {
        "postgresql://\(cluster.layout.user):\(password)@/\(cluster.layout.databaseName)?host=\(socketDirectory)&port=\(cluster.layout.port)"
    }

    /// A connection of the test's own, with the right password.
    func connect() async throws -> Connection {
        try await Connection.connect(to: cluster.connectionString, options: ConnectionOptions(applicationName: "volumed-secrets-test"))
    }

    /// Writes a configuration file (`[database] url` when given, debug logging) and returns
    /// its path.
    func writeConfig(_ name: String, databaseURL: String? = nil) throws -> String {
        var text = ServeConfig().text + "\n[daemon]\nlog_level = \"debug\"\n"
        if let databaseURL {
            // A TOML literal string: backslashes and double quotes stay as they are.
            precondition(!databaseURL.contains("'") && !databaseURL.contains("\n"))
            text += "\n[database]\nurl = '\(databaseURL)'\n"
        }
        return try workspace.folder.write(name, text: text)
    }

    /// Runs a `volumed` command to its end (the state directory is the workspace's, so a
    /// command that ignored the database URL would use a fresh embedded cluster there, not
    /// this server) and records its output.
    func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(90)) async throws
        -> (termination: Termination, output: String)
    {
        let process = try launch(arguments, environment: environment)
        guard let termination = await process.waitForExit(timeout: timeout) else {
            await process.stop()
            record(process)
            throw HarnessError("volumed \(arguments.joined(separator: " ")) did not finish in \(timeout); output:\n\(process.logTail)")
        }
        record(process)
        return (termination, process.log)
    }

    /// Runs `volumed serve` while `body` runs: waits for READY=1 on a fake notification socket
    /// first, and stops the daemon (SIGTERM, SIGKILL after 30 s) whatever `body` does. Returns
    /// how it ended and `body`'s result.
    func serve<T>(
        _ arguments: [String], environment: [String: String] = [:], _ body: (VolumedProcess) async throws -> T
    ) async throws -> (termination: Termination, killed: Bool, result: T) {
        let notifications = try NotifySocket(path: workspace.folder.url("notify-\(launches + 1).sock").path)
        defer { notifications.stop() }
        let process = try launch(["serve", "--watch", workspace.watchRoot] + arguments,
                                 environment: environment.merging(["NOTIFY_SOCKET": notifications.path]) { $1 })
        let result: T
        do {
            try await waitUntil("READY=1 from volumed serve", process) { notifications.lines.contains("READY=1") }
            result = try await body(process)
        } catch {
            await process.stop()
            record(process)
            throw error
        }
        let (termination, killed) = await process.stop()
        record(process)
        return (termination, killed, result)
    }

    /// Polls `condition` every 100 ms until it holds; fails after `timeout`, or at once when
    /// the process has exited, with its output.
    func waitUntil(_ what: String, _ process: VolumedProcess, timeout: Duration = .seconds(90), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            if let termination = process.termination {
                throw HarnessError("volumed ended (\(termination)) while waiting for \(what); output:\n\(process.logTail)")
            }
            guard ContinuousClock.now < deadline else {
                throw HarnessError("gave up after \(timeout) waiting for \(what); output:\n\(process.logTail)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// The commands whose output contains `secret`, with the offending lines.
    func leaks(of secret: String) -> [String] {
        transcript.compactMap { entry in
            let lines = entry.output.split(separator: "\n").filter { $0.contains(secret) }
            return lines.isEmpty ? nil : "volumed \(entry.command):\n" + lines.joined(separator: "\n")
        }
    }

    private func launch(_ arguments: [String], environment: [String: String]) throws -> VolumedProcess {
        launches += 1
        return try VolumedProcess(
            arguments + ["--state-dir", workspace.stateDirectory],
            environment: ServeDaemon.baseEnvironment.merging(environment) { $1 },
            logPath: workspace.folder.url("volumed-\(launches).log").path)
    }

    private func record(_ process: VolumedProcess) {
        transcript.append((process.arguments.joined(separator: " "), process.log))
    }
}
