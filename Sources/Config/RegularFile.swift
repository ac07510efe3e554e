import Glibc

/// Reads small files (configuration, shard indexes) without ever blocking on a FIFO or device:
/// the file is opened non-blocking and must be a regular file no larger than a limit.
package enum RegularFile {
    package enum Failure: Error, Equatable, CustomStringConvertible {
        case system(Errno)
        case notRegular
        case tooLarge(size: Int64, limit: Int)

        package var description: String {
            switch self {
            case .system(let errno): "\(errno)"
            case .notRegular: "not a regular file"
            case .tooLarge(let size, let limit): "\(size) bytes is larger than the limit of \(limit) bytes"
            }
        }
    }

    package static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw .system(.current) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .system(.current) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .notRegular }
        guard status.st_size <= Int64(limit) else { throw .tooLarge(size: Int64(status.st_size), limit: limit) }

        // The size can change while we read; read until EOF, bounded by the limit.
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size) + 1)
        var count = 0
        while true {
            if count == bytes.count {
                guard bytes.count <= limit else { throw .tooLarge(size: Int64(bytes.count), limit: limit) }
                bytes.append(contentsOf: repeatElement(0, count: max(bytes.count, 4096)))
            }
            let n = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress! + count, buffer.count - count)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(.current)
            }
            if n == 0 { break }
            count += n
        }
        guard count <= limit else { throw .tooLarge(size: Int64(count), limit: limit) }
        return Array(bytes[..<count])
    }
}
