import Foundation
import Glibc
import Synchronization

/// A stand-in for systemd's notification socket (`$NOTIFY_SOCKET`): a bound `AF_UNIX` datagram
/// socket drained by a thread of its own, so the soak sees when a daemon sends `READY=1`.
final class NotifySocket: Sendable {
    let path: String
    private let descriptor: Int32
    private let shared = Shared()

    /// What the draining thread shares with the socket (not the socket itself, so that dropping
    /// the socket stops the thread).
    private final class Shared: Sendable {
        let lines = Mutex<[String]>([])
        let stopRequested = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
    }

    init(path: String) throws {
        self.path = path
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SoakError.system("socket", path) }
        // Wake up regularly to notice `stop()`.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8) + [0]
        guard bytes.count <= MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw SoakError("notification socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            let error = SoakError.system("bind", path)
            close(descriptor)
            throw error
        }
        let thread = Thread { [descriptor, shared] in Self.drain(descriptor, shared) }
        thread.name = "soak-notify"
        thread.start()
    }

    deinit {
        stop()
        close(descriptor)
        unlink(path)
    }

    var lines: [String] { shared.lines.withLock { $0 } }

    var isReady: Bool { lines.contains("READY=1") }

    func stop() {
        if !shared.stopRequested.exchange(true, ordering: .relaxed) { shared.finished.wait() }
    }

    private static func drain(_ descriptor: Int32, _ shared: Shared) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !shared.stopRequested.load(ordering: .relaxed) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                let lines = String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").map(String.init)
                shared.lines.withLock { $0 += lines }
            }
        }
        shared.finished.signal()
    }
}
