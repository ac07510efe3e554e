import Foundation
import Glibc
import Synchronization

/// A stand-in for systemd's notification socket (`$NOTIFY_SOCKET`): a bound `AF_UNIX` datagram
/// socket whose messages a thread of its own drains as they arrive (the kernel queues only a
/// handful of datagrams, `net.unix.max_dgram_qlen`, and the daemon's sends do not block).
public final class NotifySocket: Sendable {
    /// The value for `$NOTIFY_SOCKET`.
    public let path: String

    private let descriptor: Int32
    private let shared = Shared()

    /// What the draining thread shares with the socket (not the socket itself, so that dropping
    /// the socket stops the thread).
    private final class Shared: Sendable {
        struct State {
            var lines: [String] = []
            var stopRequested = false
        }

        let state = Mutex(State())
        let finished = DispatchSemaphore(value: 0)
    }

    /// Binds `path` (replacing a stale socket there; writable by every user, so an unprivileged
    /// daemon can send too) and starts draining it.
    public init(path: String) throws {
        self.path = path
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError.system("socket(AF_UNIX) for", path) }
        // Wake up regularly to notice `stop()`.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8) + [0]
        guard bytes.count <= MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw HarnessError("notification socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0, chmod(path, 0o666) == 0 else {
            let error = HarnessError.system("cannot bind", path)
            close(descriptor)
            throw error
        }
        let thread = Thread { [descriptor, shared] in Self.drain(descriptor, shared) }
        thread.name = "notify-socket"
        thread.start()
    }

    deinit {
        stop()
        close(descriptor)
        unlink(path)
    }

    /// Every line received so far (a datagram holds one `KEY=value` per line), in order.
    public var lines: [String] { shared.state.withLock { $0.lines } }

    public var isReady: Bool { lines.contains("READY=1") }

    /// Stops draining; idempotent.
    public func stop() {
        let first = shared.state.withLock { state in
            defer { state.stopRequested = true }
            return !state.stopRequested
        }
        if first { shared.finished.wait() }
    }

    private static func drain(_ descriptor: Int32, _ shared: Shared) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var stopping = false
        while true {
            // After a stop request, take what is still queued without waiting, then end.
            let count = recv(descriptor, &buffer, buffer.count, stopping ? Int32(MSG_DONTWAIT) : 0)
            if count > 0 {
                let lines = String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").map(String.init)
                shared.state.withLock { $0.lines += lines }
            } else if stopping {
                break
            }
            if !stopping { stopping = shared.state.withLock { $0.stopRequested } }
        }
        shared.finished.signal()
    }
}
