#if canImport(Glibc)
import Glibc
#endif

/// A harness's failure to set something up (spawn a process, bind a socket), with what went
/// wrong.
public struct HarnessError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    /// A failed system call on `subject`, with errno's message.
    static func system(_ call: String, _ subject: String, errno code: Int32 = errno) -> HarnessError {
        HarnessError("\(call) \(subject): \(String(cString: strerror(code)))")
    }
}
