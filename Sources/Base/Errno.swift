import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

extension Errno {
    /// The calling thread's current `errno` (swift-system keeps its own accessor internal).
    public static var current: Errno { Errno(rawValue: errno) }

    /// What swift-system's untyped `throws` functions throw, which is always an `Errno`.
    init(thrown error: any Error) {
        self = error as? Errno ?? .ioError
    }
}
