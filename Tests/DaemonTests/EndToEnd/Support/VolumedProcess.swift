import Base
import Foundation
import Glibc
import ProcessHarness

/// The user a `volumed` under test runs as.
enum ProcessUser {
    case root
    /// `nobody`, through `setpriv`: file permissions apply to it, as to the daemon under
    /// systemd's `DynamicUser=`.
    case nobody

    var ids: (uid: uid_t, gid: gid_t) {
        switch self {
        case .root: (0, 0)
        case .nobody: (65534, 65534)
        }
    }
}

/// The built `volumed` executable run as a `ChildProcess`, as root or as `nobody`. Dropping it
/// kills the process if it is still running.
final class VolumedProcess: Sendable {
    let arguments: [String]
    let process: ChildProcess

    /// The `volumed` that `swift build` put next to this test bundle.
    static func executable() throws -> String {
        let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let path = URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("volumed").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("no volumed executable at \(path): build it (`swift build`, same configuration as the tests) before `swift test`")
        }
        return path
    }

    /// Settings of the test run that the child gets too, unless the test sets them itself:
    /// under `make sanitize`, `volumed` is built with the same sanitizer as the tests, and
    /// needs the same runtime options (no leak check, suppressions, one OpenBLAS thread).
    static let inheritedVariables = ["ASAN_OPTIONS", "TSAN_OPTIONS", "OPENBLAS_NUM_THREADS", "SWIFT_BACKTRACE"]

    init(_ arguments: [String], environment: [String: String], user: ProcessUser = .root, logPath: String) throws {
        self.arguments = arguments
        let inherited = ProcessInfo.processInfo.environment.filter { Self.inheritedVariables.contains($0.key) }
        var argv = [try Self.executable()] + arguments
        if case .nobody = user {
            let (uid, gid) = user.ids
            argv = ChildProcess.asUser(uid, group: gid, argv)
        }
        process = try ChildProcess(executable: argv[0], arguments: Array(argv.dropFirst()),
                                   environment: inherited.merging(environment) { $1 }, logPath: logPath)
    }

    var pid: pid_t { process.pid }
    var logPath: String { process.logPath }
    var termination: Termination? { process.termination }
    var isRunning: Bool { process.isRunning }

    func send(_ signal: Int32) { process.send(signal) }

    /// Waits up to `timeout` for the process to end.
    func waitForExit(timeout: Duration) async -> Termination? { await process.waitForExit(timeout: timeout) }

    /// SIGTERM, then SIGKILL if it has not ended after `timeout`. Returns how it ended and
    /// whether it had to be killed.
    @discardableResult
    func stop(timeout: Duration = .seconds(30)) async -> (termination: Termination, killed: Bool) {
        send(SIGTERM)
        if let ended = await waitForExit(timeout: timeout) { return (ended, false) }
        kill(pid, SIGKILL)
        if let ended = await waitForExit(timeout: .seconds(10)) { return (ended, true) }
        return (.signaled(SIGKILL), true)
    }

    /// What it has written to stdout and stderr so far.
    var log: String { process.log }

    /// The last lines of the log, for failure messages.
    var logTail: String { process.logTail(40) }
}
