import Foundation
import Glibc
import Synchronization

/// A program run by a test harness (the soak's `volumed serve` and `pg_ctl`, the end-to-end
/// tests' `volumed`): stdin from /dev/null, stdout and stderr appended to a log file, signal
/// mask and dispositions reset, a process group of its own, no other file descriptor
/// inherited. Spawned directly rather than through Foundation's `Process`, whose termination
/// tracking a server left running by `pg_ctl` can confuse. Dropping it kills the process if it
/// is still running.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let logPath: String
    private let waitStatus = Mutex<Int32?>(nil)

    /// Starts `executable` (a path) with `arguments`, exactly `environment`, in
    /// `workingDirectory` (this process's when nil).
    public init(executable: String, arguments: [String], environment: [String: String],
                workingDirectory: String? = nil, logPath: String) throws {
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process (other tests' pipes and sockets) leaks into the child.
        guard let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw HarnessError("libc has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)")
        }
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)
        if let workingDirectory {
            // Declared only under _GNU_SOURCE, which Swift's Glibc module does not set.
            guard let addChdir = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
                throw HarnessError("libc has no posix_spawn_file_actions_addchdir_np (glibc 2.29 or later)")
            }
            typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
            _ = unsafeBitCast(addChdir, to: AddChdir.self)(&actions, workingDirectory)
        }

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

        let argv = [executable] + arguments
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in cArguments + cEnvironment { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, cArguments, cEnvironment)
        guard result == 0 else { throw HarnessError.system("cannot start", argv.joined(separator: " "), errno: result) }
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
            usleep(20_000)
        }
    }

    /// What it has written to stdout and stderr so far.
    public var log: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
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
