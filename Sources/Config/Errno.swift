import Glibc

/// A C `errno` value with its system message, in the style of swift-system's `Errno`.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(rawValue: errno) }

    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    public static let permissionDenied = Errno(rawValue: EACCES)
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    public static let tooManySymbolicLinkLevels = Errno(rawValue: ELOOP)
    public static let noSpace = Errno(rawValue: ENOSPC)

    public var description: String { String(cString: strerror(rawValue)) }
}
