import Base
import Hashing
import SystemPackage
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few filesystem queries the checkpoint readers need, with their failures as checkpoint errors.
enum FileSystem {
    enum Kind { case missing, regular, directory, other }

    /// What `path` is, following symbolic links.
    static func kind(_ path: String) -> Kind {
        guard let info = try? Stat(path) else { return .missing }
        switch info.type {
        case .regular: return .regular
        case .directory: return .directory
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
        guard let info = try? Stat(path) else { return nil }
        return Stamp(size: info.size, modifiedSeconds: Int64(info.st_mtim.tv_sec),
                     modifiedNanoseconds: Int64(info.st_mtim.tv_nsec), inode: UInt64(info.inode.rawValue))
    }

    static func isSymbolicLink(_ path: String) -> Bool {
        (try? Stat(path, followTargetSymlink: false))?.type == .symbolicLink
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
        do {
            return try RegularFile.read(path, limit: limit)
        } catch {
            throw CheckpointError(error)
        }
    }

    /// The whole file (at most `limit` bytes) parsed as JSON; invalid JSON is the error `code`
    /// naming the reason and byte offset (small JSON side files: indexes, configs).
    static func readJSON(_ path: String, limit: Int, code: String) throws(CheckpointError) -> JSONValue {
        let text = try read(path, limit: limit)
        do { return try JSONValue.parse(text) } catch {
            throw CheckpointError(code, file: path, "invalid JSON: \(error.reason) at byte \(error.offset)")
        }
    }

    /// At most the first `count` bytes of the file (to judge a file by its head).
    static func readPrefix(_ path: String, count: Int) throws(CheckpointError) -> [UInt8] {
        do throws(FileError) {
            let file = try RegularFile(opening: path)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
            defer { buffer.deallocate() }
            let n = try file.read(into: buffer)
            return Array(buffer[0..<n])
        } catch {
            throw CheckpointError(error)
        }
    }

    /// Feeds the file's bytes to `hasher` with `read(2)` (a map could fault if a writer
    /// truncates the file meanwhile) and returns its length.
    @discardableResult
    static func hash(_ path: String, into hasher: inout SHA256, lengthFirst: Bool) throws(CheckpointError) -> Int {
        do throws(FileError) {
            let file = try RegularFile(opening: path)
            if lengthFirst { hasher.update(withUnsafeBytes(of: UInt64(file.size).littleEndian, Array.init)) }
            let chunk = 1 << 20
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
            defer { buffer.deallocate() }
            var total = 0
            let changed = FileError(path: path, operation: "read", reason: .changed)
            while true {
                let n = try file.read(into: buffer)
                if n == 0 { break }
                total += n
                guard total <= file.size else { throw changed }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
            guard total == file.size else { throw changed }
            return total
        } catch {
            throw CheckpointError(error)
        }
    }
}
