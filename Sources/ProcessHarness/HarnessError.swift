import Base
import SystemPackage

/// A harness's failure to set something up (bind a socket, prepare a workspace), with what
/// went wrong.
public struct HarnessError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    /// A failed system call on `subject`, with errno's message.
    static func system(_ call: String, _ subject: String, errno: Errno = .current) -> HarnessError {
        HarnessError("\(call) \(subject): \(errno)")
    }
}
