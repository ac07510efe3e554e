import Foundation
import Glibc
import Synchronization

/// A test's failure to set something up, with what went wrong.
struct HarnessError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// How a process ended.
enum Termination: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import.
        self = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
    }

    var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal): "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
        }
    }
}

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

/// The built `volumed` executable run as a child process: stdin from /dev/null, stdout and
/// stderr appended to a log file, signal dispositions and mask reset, in a process group of
/// its own. Dropping it kills the process if it is still running.
final class VolumedProcess: Sendable {
    let pid: pid_t
    let logPath: String
    let arguments: [String]
    private let waitStatus = Mutex<Int32?>(nil)

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
        let environment = inherited.merging(environment) { $1 }
        self.logPath = logPath
        var argv = [try Self.executable()] + arguments
        if case .nobody = user {
            let (uid, gid) = user.ids
            argv = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"] + argv
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of the test process (other tests' pipes and sockets) leaks into it.
        guard let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw HarnessError("libc has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)")
        }
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in cArguments + cEnvironment { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, argv[0], &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else {
            throw HarnessError("cannot start \(argv.joined(separator: " ")): \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit {
        if termination == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        }
    }

    /// How it ended; nil while it runs (reaps it once it has ended).
    var termination: Termination? {
        waitStatus.withLock { stored in
            if stored == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { stored = status }
            }
            return stored.map(Termination.init(waitStatus:))
        }
    }

    var isRunning: Bool { termination == nil }

    func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits up to `timeout` for the process to end.
    func waitForExit(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let termination { return termination }
            guard ContinuousClock.now < deadline else { return nil }
            await pause(.milliseconds(50))
        }
    }

    /// Waits up to `timeout` for the process to end, blocking the calling thread (one of its
    /// own: see `onOwnThread`).
    func waitForExitBlocking(timeout: Duration) -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let termination { return termination }
            guard ContinuousClock.now < deadline else { return nil }
            usleep(20_000)
        }
    }

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
    var log: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// The last lines of the log, for failure messages.
    var logTail: String {
        log.split(separator: "\n").suffix(40).joined(separator: "\n")
    }
}

/// Sleeps for `duration`, also when the task is cancelled (a test that ran out of time still
/// has to wait for its daemon to stop).
func pause(_ duration: Duration) async {
    if (try? await Task.sleep(for: duration)) == nil {
        let (seconds, attoseconds) = duration.components
        usleep(useconds_t(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
    }
}

/// Runs `body` on a thread of its own and returns its result: for steps whose timing matters.
/// Every test shares the cooperative pool (two threads here), and some hold it for seconds of
/// computation, which could delay an awaiting test past the moment it has to act.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result(catching: body)) }
        thread.name = "e2e-timing"
        thread.start()
    }
}
