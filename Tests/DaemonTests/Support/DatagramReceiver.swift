import Base
import Dispatch
import Glibc
import SystemPackage

/// A bound AF_UNIX datagram socket standing in for systemd's notification socket.
final class DatagramReceiver: @unchecked Sendable {
    private let descriptor: Int32
    /// The value to put in NOTIFY_SOCKET.
    let notifySocket: String

    /// Binds to `path`, or to an abstract name when `abstractName` is given.
    init(path: String? = nil, abstractName: String? = nil) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Errno.current }
        // A receive that gets nothing gives up after five seconds instead of hanging the test.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes: [UInt8]
        if let abstractName {
            bytes = [0] + Array(abstractName.utf8)
            notifySocket = "@" + abstractName
        } else {
            bytes = Array((path ?? "").utf8) + [0]
            notifySocket = path ?? ""
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw Errno.current
        }
    }

    deinit {
        close(descriptor)
    }

    /// The next datagram as text, or nil after the five-second timeout.
    func receive() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// `receive()` on a dispatch thread: async tests must not block the cooperative pool that
    /// the service under test needs.
    func next() async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: self.receive()) }
        }
    }
}
