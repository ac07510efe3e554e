import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A regular file open for reading, closed when the value goes away. It is opened non-blocking,
/// so a FIFO or device in a file's place is refused instead of blocking the caller.
public struct RegularFile: ~Copyable {
    public let path: String
    public let descriptor: FileDescriptor
    /// The size when it was opened.
    public let size: Int

    public init(opening path: String) throws(FileError) {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(
                path, .readOnly, options: [.nonBlocking, .closeOnExec, FileDescriptor.OpenOptions(rawValue: O_NOCTTY)])
        } catch {
            throw FileError(path: path, operation: "open", reason: .system(Errno(thrown: error)))
        }
        let status: Stat
        do {
            status = try Stat(descriptor)
        } catch {
            try? descriptor.close()
            throw FileError(path: path, operation: "stat", reason: .system(error))
        }
        guard status.type == .regular else {
            try? descriptor.close()
            throw FileError(path: path, operation: "open", reason: .notRegular)
        }
        self.path = path
        self.descriptor = descriptor
        self.size = Int(status.size)
    }

    deinit { try? descriptor.close() }

    /// Fills as much of `buffer` as the file has left; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let n: Int
            do {
                n = try descriptor.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            } catch {
                throw FileError(path: path, operation: "read", reason: .system(Errno(thrown: error)))
            }
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Everything up to the end as it is now, however much was added since it was opened (a log
    /// that is still being written).
    public func readToEnd() throws(FileError) -> [UInt8] {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 1)
        defer { chunk.deallocate() }
        var bytes: [UInt8] = []
        while true {
            let n = try read(into: chunk)
            bytes += chunk[..<n]
            if n < chunk.count { return bytes }
        }
    }

    /// The whole of a small file (configuration, JSON, TOML), which must be at most `limit`
    /// bytes and must not change size while it is read.
    public static func read(_ path: String, limit: Int) throws(FileError) -> [UInt8] {
        let file = try RegularFile(opening: path)
        guard file.size <= limit else {
            throw FileError(path: path, operation: "read", reason: .tooLarge(size: file.size, limit: limit))
        }
        // One byte more than the size shows a file that grew since it was opened.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: file.size + 1, alignment: 1)
        defer { buffer.deallocate() }
        let count = try file.read(into: buffer)
        guard count == file.size else { throw FileError(path: path, operation: "read", reason: .changed) }
        return Array(buffer[..<count])
    }
}
