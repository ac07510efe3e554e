import Foundation

/// Runs a program to completion with `posix_spawn`, capturing stdout and stderr together.
/// Used for `initdb` and `pg_ctl`; blocking, so only called on a `DatabaseThread`.
enum Subprocess {
    struct Outcome {
        let status: Int32
        let output: String

        var succeeded: Bool { status == 0 }

        /// The last lines of the output, for error messages.
        var tail: String {
            let lines = output.split(whereSeparator: \.isNewline).suffix(8)
            return lines.joined(separator: " | ")
        }
    }

    static func run(
        _ arguments: [String],
        environment: [String: String],
        workingDirectory: String
    ) throws(DatabaseError) -> Outcome {
        guard let executable = arguments.first else {
            throw DatabaseError(code: "db.embedded", message: "no program to run")
        }
        // Output goes to an unlinked temporary file rather than a pipe: `pg_ctl start` leaves
        // a server running, and nothing it (or anything else) inherits can keep us waiting.
        let outputPath = (NSTemporaryDirectory() as NSString).appendingPathComponent("volumed-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out")
        let outputFile = open(outputPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard outputFile >= 0 else { throw failure("cannot create \(outputPath) for the output of \(executable)") }
        unlink(outputPath)
        defer { close(outputFile) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFile, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFile, 2)
        // PostgreSQL's tools look up the working directory; it must be one the (possibly
        // unprivileged) child can enter.
        guard let addChdir = Self.addChdir else {
            throw DatabaseError(code: "db.embedded", message: "this C library lacks posix_spawn_file_actions_addchdir_np (glibc 2.29 or newer is needed)")
        }
        _ = addChdir(&actions, workingDirectory)

        // Children start with default signal handling and nothing blocked, whatever this
        // process (which ignores SIGPIPE) has set.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigmask(&attributes, &noneBlocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw DatabaseError(
                code: "db.embedded",
                message: "cannot run \(executable): \(String(cString: strerror(spawned)))"
            )
        }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw failure("waiting for \(executable) failed") }
        }
        // WIFEXITED / WEXITSTATUS: exit code in bits 8–15; a signal shows as 128 + signal.
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var offset: off_t = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(outputFile, $0.baseAddress, $0.count, offset) }
            if count > 0 {
                output.append(contentsOf: buffer[0..<count])
                offset += off_t(count)
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        return Outcome(status: exitCode, output: String(decoding: output, as: UTF8.self))
    }

    /// glibc declares it only under _GNU_SOURCE, which Swift's Glibc module does not set.
    private typealias AddChdir = @convention(c) (
        UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>
    ) -> Int32

    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    private static func failure(_ what: String) -> DatabaseError {
        DatabaseError(code: "db.embedded", message: "\(what): \(String(cString: strerror(errno)))")
    }
}
