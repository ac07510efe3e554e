import Glibc
import Synchronization
import SystemPackage

/// A program run by volumed or a test harness: the embedded cluster's `initdb` and `pg_ctl`, the
/// soak's `volumed serve`, the end-to-end tests' `volumed`. Stdin from /dev/null, stdout and
/// stderr to a file, signal mask and dispositions reset, no other file descriptor inherited.
/// Spawned directly rather than through Foundation's `Process`, whose termination tracking a
/// server left running by `pg_ctl` can confuse, or swift-subprocess (see `Base` in
/// Package.swift). Dropping it kills the process if it is still running.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let logPath: String
    private let waitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` (a path) with `arguments`, exactly `environment`, in
    /// `workingDirectory` (this process's when nil), in a process group of its own (out of reach
    /// of a terminal's Ctrl-C to this one), with stdout and stderr appended to `logPath`.
    public init(executable: String, arguments: [String], environment: [String: String],
                workingDirectory: String? = nil, logPath: String) throws(SpawnError) {
        self.logPath = logPath
        pid = try Self.spawn(executable: executable, arguments: arguments, environment: environment,
                             workingDirectory: workingDirectory, output: .file(logPath), processGroup: true)
    }

    enum Output {
        /// Appended to the file at this path (created if missing).
        case file(String)
        /// Written to this open file.
        case descriptor(FileDescriptor)
    }

    /// `posix_spawn` with stdin from /dev/null, stdout and stderr to `output`, no other
    /// descriptor, default signal handling and, with `processGroup`, a process group of its own.
    static func spawn(
        executable: String, arguments: [String], environment: [String: String],
        workingDirectory: String?, output: Output, processGroup: Bool
    ) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch output {
        case .file(let path):
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        case .descriptor(let descriptor):
            posix_spawn_file_actions_adddup2(&actions, descriptor.rawValue, 1)
        }
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process (other tests' pipes and sockets) leaks into the child.
        guard let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw SpawnError(executable: executable, "cannot run \(executable): libc has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)")
        }
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)
        if let workingDirectory {
            // Declared only under _GNU_SOURCE, which Swift's Glibc module does not set.
            guard let addChdir = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
                throw SpawnError(executable: executable, "cannot run \(executable): libc has no posix_spawn_file_actions_addchdir_np (glibc 2.29 or later)")
            }
            typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
            _ = unsafeBitCast(addChdir, to: AddChdir.self)(&actions, workingDirectory)
        }

        // Children start with default signal handling and nothing blocked, whatever this process
        // (which ignores SIGPIPE) has set.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if processGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = [executable] + arguments
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in cArguments + cEnvironment { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else { throw SpawnError(executable: executable, "cannot run \(executable): \(Errno(rawValue: result))") }
        return child
    }

    deinit {
        if termination == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        }
    }

    /// How it ended; nil while it runs (reaps it once it has ended).
    public var termination: Termination? {
        waitStatus.withLock { stored in
            if stored == nil {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { stored = status }
            }
            return stored.map(Termination.init(waitStatus:))
        }
    }

    public var isRunning: Bool { termination == nil }

    public func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits up to `timeout` for the process to end.
    public func waitForExit(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let termination { return termination }
            guard ContinuousClock.now < deadline else { return nil }
            await pause(.milliseconds(20))
        }
    }

    /// Waits up to `timeout` for the process to end, blocking the calling thread.
    public func waitForExitBlocking(timeout: Duration) -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let termination { return termination }
            guard ContinuousClock.now < deadline else { return nil }
            usleep(20_000)
        }
    }

    /// Blocks the calling thread until the process ends.
    public func waitForExitBlocking() -> Termination {
        while true {
            if let termination { return termination }
            // Waits for the end without reaping, so that only `termination` reaps (under its
            // lock); fails with ECHILD once it has.
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno != EINTR { usleep(20_000) }
        }
    }

    /// What it has written to stdout and stderr so far.
    public var log: String {
        guard let bytes = try? RegularFile(opening: logPath).readToEnd() else { return "" }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The last `lines` lines of its log, for reports.
    public func logTail(_ lines: Int = 20) -> String {
        log.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}

/// Sleeps for `duration`, also when the task is cancelled (a harness that ran out of time still
/// has to wait for its processes to stop).
public func pause(_ duration: Duration) async {
    if (try? await Task.sleep(for: duration)) == nil {
        let (seconds, attoseconds) = duration.components
        usleep(useconds_t(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
    }
}
