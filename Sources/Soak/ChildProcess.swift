import Foundation
import Glibc
import Synchronization

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

/// A program the soak runs (`volumed serve`, `pg_ctl`): stdin from /dev/null, stdout and stderr
/// appended to a log file, default signal handling, a process group of its own, no other file
/// descriptor inherited. Spawned directly rather than through Foundation's `Process`, whose
/// termination tracking a server left running by `pg_ctl` can confuse.
final class ChildProcess: Sendable {
    let pid: pid_t
    let logPath: String
    private let waitStatus = Mutex<Int32?>(nil)

    init(
        executable: String, arguments: [String], environment: [String: String], workingDirectory: String? = nil,
        logPath: String
    ) throws {
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        guard let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw SoakError("libc has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)")
        }
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)
        if let workingDirectory {
            // Declared only under _GNU_SOURCE, which Swift's Glibc module does not set.
            guard let addChdir = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
                throw SoakError("libc has no posix_spawn_file_actions_addchdir_np (glibc 2.29 or later)")
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
        guard result == 0 else { throw SoakError.system("posix_spawn", executable, errno: result) }
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

    func send(_ signal: Int32) {
        if termination == nil { kill(pid, signal) }
    }

    /// Blocks the calling thread until the process ends.
    func waitBlocking() -> Termination {
        while true {
            if let termination { return termination }
            usleep(10_000)
        }
    }

    /// Waits up to `timeout` for the process to end.
    func waitForExit(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let termination { return termination }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The last lines of its log, for reports.
    func logTail(_ lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
