import SystemPackage

/// A file that cannot be read: a failed system call on it, or one of the checks the readers
/// make (a regular file, within a size limit, not changing while it is read).
public struct FileError: CodedError, Equatable {
    public enum Reason: Sendable, Equatable {
        case system(Errno)
        /// A folder, FIFO, device or socket where a file was expected.
        case notRegular
        case tooLarge(size: Int, limit: Int)
        /// Its size changed while it was being read (it is still being written).
        case changed
    }

    /// The file, as the caller named it.
    public let path: String
    /// The call that failed: `open`, `stat`, `read`, `mmap`.
    public let operation: String
    public let reason: Reason

    public init(path: String, operation: String, reason: Reason) {
        self.path = path
        self.operation = operation
        self.reason = reason
    }

    public var code: String {
        switch reason {
        case .system(.noSuchFileOrDirectory): "file.not_found"
        case .system(.permissionDenied), .system(.notPermitted): "file.permission_denied"
        case .system, .notRegular: "file.io"
        case .tooLarge: "file.too_large"
        case .changed: "file.changed"
        }
    }

    /// What is wrong, without the path.
    public var detail: String {
        switch reason {
        case .system(let errno): "cannot \(operation): \(errno)"
        case .notRegular: "not a regular file"
        case .tooLarge(let size, let limit): "file is \(size) bytes; at most \(limit) are read"
        case .changed: "file changed size while being read (still being written?)"
        }
    }

    public var description: String { "\(path): \(detail)" }
}
