import Hashing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few filesystem queries the checkpoint readers need, as thin wrappers over the C calls.
enum FileSystem {
    enum Kind { case missing, regular, directory, other }

    /// What `path` is, following symbolic links.
    static func kind(_ path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    /// What says a file was rewritten or replaced: its size, modification time and inode.
    struct Stamp: Equatable, Sendable {
        var size: Int64
        var modifiedSeconds: Int64
        var modifiedNanoseconds: Int64
        var inode: UInt64
    }

    /// The file's stamp, following symbolic links; nil when it cannot be `stat`ed.
    static func stamp(_ path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Glibc)
        let modified = info.st_mtim
        #else
        let modified = info.st_mtimespec
        #endif
        return Stamp(size: Int64(info.st_size), modifiedSeconds: Int64(modified.tv_sec),
                     modifiedNanoseconds: Int64(modified.tv_nsec), inode: UInt64(info.st_ino))
    }

    static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// The canonical absolute path, with every symbolic link resolved.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` split at its last slash, ignoring trailing slashes: ("/a/b", "c") for "/a/b/c/".
    static func split(_ path: String) -> (parent: String, name: String) {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return (".", String(trimmed)) }
        let parent = trimmed[..<slash]
        return (parent.isEmpty ? "/" : String(parent), String(trimmed[trimmed.index(after: slash)...]))
    }

    /// The whole file, which must be at most `limit` bytes (small JSON and TOML files).
    static func read(_ path: String, limit: Int) throws(CheckpointError) -> [UInt8] {
        let file = try OpenFile(path)
        guard file.size <= limit else {
            throw CheckpointError("file.too_large", file: path, "file is \(file.size) bytes; at most \(limit) are read")
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: file.size, alignment: 1)
        defer { buffer.deallocate() }
        let n = try file.readChunk(into: buffer)
        guard n == file.size else { throw OpenFile.changed(path) }
        return Array(buffer)
    }

    /// Feeds the file's bytes to `hasher` with `read(2)` (a map could fault if a writer
    /// truncates the file meanwhile) and returns its length.
    @discardableResult
    static func hash(_ path: String, into hasher: inout SHA256, lengthFirst: Bool) throws(CheckpointError) -> Int {
        let file = try OpenFile(path)
        if lengthFirst { hasher.update(withUnsafeBytes(of: UInt64(file.size).littleEndian, Array.init)) }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let n = try file.readChunk(into: buffer)
            if n == 0 { break }
            total += n
            guard total <= file.size else { throw OpenFile.changed(path) }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        guard total == file.size else { throw OpenFile.changed(path) }
        return total
    }
}

/// An open file descriptor, closed when the value goes away.
private struct OpenFile: ~Copyable {
    let path: String
    let descriptor: Int32
    let size: Int

    init(_ path: String) throws(CheckpointError) {
        // Non-blocking, so that a FIFO named like a checkpoint file cannot hang the reader;
        // anything but a regular file is refused below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw CheckpointError(FileError(path: path, operation: "open", errno: errno)) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = errno
            close(fd)
            throw CheckpointError(FileError(path: path, operation: "stat", errno: error))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw CheckpointError(FileError(path: path, operation: "open", errno: EISDIR, detail: "not a regular file"))
        }
        self.path = path
        self.descriptor = fd
        self.size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Fills as much of `buffer` as the file has left; 0 at the end.
    func readChunk(into buffer: UnsafeMutableRawBufferPointer) throws(CheckpointError) -> Int {
        var filled = 0
        while filled < buffer.count {
            guard let base = buffer.baseAddress else { return 0 }
            let n = read(descriptor, base + filled, buffer.count - filled)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointError(FileError(path: path, operation: "read", errno: errno))
            }
            filled += n
        }
        return filled
    }

    static func changed(_ path: String) -> CheckpointError {
        CheckpointError("file.changed", file: path, "file changed size while being read (still being written?)")
    }
}
