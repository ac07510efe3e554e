import Base
import Glibc
import SystemPackage

/// What `stat(2)` says about a path: the little the scanner needs, with a typed errno.
struct FileStatus: Equatable {
    enum Kind: Equatable {
        case directory, regular, symbolicLink, other
    }

    var kind: Kind
    var size: Int64
    var modifiedSeconds: Int64
    var modifiedNanoseconds: Int64
    var device: UInt64
    var inode: UInt64
    var linkCount: UInt64

    /// `stat` (following symbolic links) or, with `followingSymlinks: false`, `lstat`.
    static func of(_ path: String, followingSymlinks: Bool = true) throws(Errno) -> FileStatus {
        let status = try Stat(path, followTargetSymlink: followingSymlinks)
        let kind: Kind = switch status.type {
        case .directory: .directory
        case .regular: .regular
        case .symbolicLink: .symbolicLink
        default: .other
        }
        return FileStatus(
            kind: kind,
            size: status.size,
            modifiedSeconds: Int64(status.st_mtim.tv_sec),
            modifiedNanoseconds: Int64(status.st_mtim.tv_nsec),
            device: UInt64(status.deviceID.rawValue),
            inode: UInt64(status.inode.rawValue),
            linkCount: UInt64(status.linkCount))
    }

    /// The same directory or file as `other` (device and inode).
    func isSameNode(as other: FileStatus) -> Bool {
        device == other.device && inode == other.inode
    }
}

enum Directory {
    /// The names in a directory, without "." and "..". `opendir` opens with O_DIRECTORY and
    /// O_NONBLOCK, so a FIFO or device in the directory's place fails instead of blocking.
    /// Names that are not UTF-8 are left out: no path we build could name them.
    static func entries(_ path: String) throws(Errno) -> [String] {
        guard let directory = opendir(path) else { throw .current }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                if errno != 0 { throw .current }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(validating: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let name, name != "." && name != ".." {
                names.append(name)
            }
        }
    }
}
