#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of a whole file, released when the last reference goes: a read-only memory map,
/// or a private in-memory copy for bytes that never were a file (fuzzing).
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let isMapped: Bool

    public init(path: String) throws(FileError) {
        self.path = path
        isMapped = true
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, operation: "stat", errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FileError(path: path, operation: "open", errno: EISDIR, detail: "not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw FileError(path: path, operation: "mmap", errno: errno)
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// A copy of `contents` that parsers read exactly as a mapped file named `path`. The copy is
    /// sized exactly, so an address sanitizer catches any read past its end.
    public init(path: String, contents: some Collection<UInt8>) {
        self.path = path
        isMapped = false
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: contents.count, alignment: 16)
        copy.copyBytes(from: contents)
        bytes = UnsafeRawBufferPointer(copy)
    }

    deinit {
        if isMapped {
            if let base = bytes.baseAddress {
                munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
            }
        } else {
            UnsafeMutableRawBufferPointer(mutating: bytes).deallocate()
        }
    }
}

/// A failed system call on a file, with the path and the C error.
public struct FileError: CodedError {
    public let path: String
    public let operation: String
    public let errno: Int32
    public var detail: String? = nil

    public init(path: String, operation: String, errno: Int32, detail: String? = nil) {
        self.path = path
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    public var code: String {
        switch errno {
        case ENOENT: "file.not_found"
        case EACCES, EPERM: "file.permission_denied"
        default: "file.io"
        }
    }

    public var description: String {
        let reason = detail ?? String(cString: strerror(errno))
        return "\(path): cannot \(operation): \(reason)"
    }
}
