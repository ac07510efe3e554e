import Base
import SystemPackage

/// Something that stopped the soak itself (not a finding about the daemon): a file it could
/// not write, a daemon that never became ready, a database it could not reach.
struct SoakError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    /// A failed system call on `path`, with the C error.
    static func system(_ operation: String, _ path: String, errno: Errno = .current) -> SoakError {
        SoakError("\(operation) \(path): \(errno)")
    }
}
