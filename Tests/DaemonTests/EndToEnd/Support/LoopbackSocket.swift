import Glibc
import ProcessHarness
import Synchronization

/// A TCP connection to a port on 127.0.0.1 for the dashboard's browser tests (HTTP requests,
/// the DevTools WebSocket). Non-blocking underneath: every call waits in `poll` with a
/// timeout, so a stalled peer costs a harness thread a bounded wait, never a hang.
final class LoopbackSocket: Sendable {
    let port: UInt16
    private let descriptor: Int32
    /// Sends come from a test's task and from the WebSocket reader (pongs, the close reply).
    private let sending = Mutex(())

    /// What one `receive` got.
    enum Received {
        case bytes([UInt8])
        /// The peer closed its side (or the socket was shut down).
        case closed
        case timedOut
    }

    init(port: UInt16, timeout: Duration = .seconds(5)) throws {
        self.port = port
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        self.descriptor = descriptor
        var address = Self.loopback(port: port)
        let started = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if started != 0 {
            guard errno == EINPROGRESS else { throw HarnessError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
            guard try wait(for: Int16(POLLOUT), timeout: timeout) else { throw HarnessError("connect to 127.0.0.1:\(port): no answer in \(timeout)") }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &length)
            guard failure == 0 else { throw HarnessError("connect to 127.0.0.1:\(port): \(String(cString: strerror(failure)))") }
        }
    }

    deinit {
        close(descriptor)
    }

    /// Sends all of `bytes` within `timeout`.
    func send(_ bytes: [UInt8], timeout: Duration = .seconds(10)) throws {
        let deadline = ContinuousClock.now + timeout
        try sending.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent > 0 {
                    offset += sent
                } else if errno == EAGAIN || errno == EINTR {
                    guard try wait(for: Int16(POLLOUT), timeout: deadline - ContinuousClock.now) else {
                        throw HarnessError("send to 127.0.0.1:\(port): stalled for \(timeout)")
                    }
                } else {
                    throw HarnessError("send to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
                }
            }
        }
    }

    /// Up to `maxCount` bytes, whatever has arrived within `timeout`.
    func receive(maxCount: Int = 65536, timeout: Duration) throws -> Received {
        guard try wait(for: Int16(POLLIN), timeout: timeout) else { return .timedOut }
        var buffer = [UInt8](repeating: 0, count: maxCount)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, maxCount, 0) }
        if count > 0 { return .bytes(Array(buffer[..<count])) }
        if count == 0 { return .closed }
        if errno == EAGAIN || errno == EINTR { return .timedOut }
        if errno == ECONNRESET { return .closed }
        throw HarnessError("receive from 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
    }

    /// Everything until the peer closes, within `timeout` and `limit` bytes.
    func receiveAll(timeout: Duration, limit: Int = 64 << 20) throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var data: [UInt8] = []
        while true {
            switch try receive(timeout: deadline - ContinuousClock.now) {
            case .bytes(let bytes):
                data += bytes
                guard data.count <= limit else { throw HarnessError("127.0.0.1:\(port) sent more than \(limit) bytes") }
            case .closed:
                return data
            case .timedOut:
                throw HarnessError("127.0.0.1:\(port) did not finish its answer in \(timeout) (\(data.count) bytes so far)")
            }
        }
    }

    /// Ends both directions: a thread waiting in `receive` sees `.closed`. The descriptor stays
    /// open (and its number reserved) until the last reference goes.
    func shutDown() {
        Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Whether `events` came within `timeout` (hang-up and errors count, so that the next call
    /// reports them).
    private func wait(for events: Int16, timeout: Duration) throws -> Bool {
        var entry = pollfd(fd: descriptor, events: events, revents: 0)
        let milliseconds = max(0, Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        while true {
            let ready = poll(&entry, 1, milliseconds)
            if ready >= 0 { return ready > 0 }
            guard errno == EINTR else { throw HarnessError("poll 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        }
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick), for a server
    /// under test to bind.
    static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw HarnessError("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw HarnessError("getsockname: \(String(cString: strerror(errno)))") }
        return UInt16(bigEndian: address.sin_port)
    }
}
