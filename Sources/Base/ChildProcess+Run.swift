import Glibc
import SystemPackage

extension ChildProcess {
    /// How a program run to completion ended, and what it wrote.
    public struct Outcome: Sendable {
        public let termination: Termination
        /// Its stdout and stderr, interleaved as written.
        public let output: String

        /// The exit status, or 128 + the signal that ended it, as a shell reports it.
        public var status: Int32 {
            switch termination {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        }

        public var succeeded: Bool { termination == .exited(0) }

        /// The last lines of the output, for error messages.
        public var tail: String {
            let lines = output.split(whereSeparator: \.isNewline).suffix(8)
            return lines.joined(separator: " | ")
        }
    }

    /// Runs `arguments` (the program's path first) to completion in `workingDirectory`, blocking
    /// the calling thread, and returns what it wrote to stdout and stderr.
    public static func run(
        _ arguments: [String],
        environment: [String: String],
        workingDirectory: String
    ) throws(SpawnError) -> Outcome {
        guard let executable = arguments.first else {
            throw SpawnError(executable: "", "no program to run")
        }
        // Output goes to an unlinked temporary file rather than a pipe: `pg_ctl start` leaves
        // a server running, and nothing it (or anything else) inherits can keep us waiting.
        let output = try temporaryFile(for: executable)
        defer { try? output.close() }
        let pid = try spawn(executable: executable, arguments: Array(arguments.dropFirst()), environment: environment,
                            workingDirectory: workingDirectory, output: .descriptor(output), processGroup: false)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else {
                throw SpawnError(executable: executable, "waiting for \(executable) failed: \(Errno.current)")
            }
        }

        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { chunk.deallocate() }
        while let count = try? output.read(fromAbsoluteOffset: Int64(bytes.count), into: chunk), count > 0 {
            bytes += chunk[..<count]
        }
        return Outcome(termination: Termination(waitStatus: status), output: String(decoding: bytes, as: UTF8.self))
    }

    private static func temporaryFile(for executable: String) throws(SpawnError) -> FileDescriptor {
        let folder = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let path = "\(folder)/volumed-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(
                path, .readWrite, options: [.create, .exclusiveCreate, .closeOnExec], permissions: [.ownerReadWrite])
        } catch {
            throw SpawnError(executable: executable, "cannot create \(path) for the output of \(executable): \(Errno(thrown: error))")
        }
        unlink(path)
        return descriptor
    }

}
