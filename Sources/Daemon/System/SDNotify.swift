import Base
import Glibc
import SystemPackage

/// The systemd notification protocol (sd_notify(3)), written without libsystemd: one datagram
/// of `KEY=value` lines to the `AF_UNIX` socket named by `$NOTIFY_SOCKET` — a path, or an
/// abstract-namespace name written `@name`. Without `$NOTIFY_SOCKET` (not started by systemd
/// with `Type=notify`) every call does nothing.
public struct SDNotify: Sendable {
    /// `$NOTIFY_SOCKET` as given, nil when unset or empty.
    public let socketAddress: String?
    /// How often to send WATCHDOG=1: half of `$WATCHDOG_USEC`, nil when the watchdog is off or
    /// meant for another process (`$WATCHDOG_PID`).
    public let watchdogInterval: Duration?

    public init(environment: [String: String], processID: pid_t = getpid()) {
        let address = environment["NOTIFY_SOCKET"] ?? ""
        socketAddress = address.isEmpty ? nil : address

        if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0,
            environment["WATCHDOG_PID"].map({ pid_t($0) == processID }) ?? true
        {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    public var isEnabled: Bool { socketAddress != nil }

    /// READY=1: start-up finished (migrations applied, first scan done), or a reload finished.
    public func ready() throws(SDNotifyError) {
        try send(["READY=1"])
    }

    /// STATUS=…: one line shown by `systemctl status`; newlines become spaces.
    public func status(_ text: String) throws(SDNotifyError) {
        let line = String(text.map { $0.isNewline ? " " : $0 })
        try send(["STATUS=\(line)"])
    }

    public func watchdog() throws(SDNotifyError) {
        try send(["WATCHDOG=1"])
    }

    public func stopping() throws(SDNotifyError) {
        try send(["STOPPING=1"])
    }

    /// RELOADING=1 with the CLOCK_MONOTONIC timestamp systemd ≥ 253 asks for; send `ready()`
    /// when the reload is done.
    public func reloading() throws(SDNotifyError) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        try send(["RELOADING=1", "MONOTONIC_USEC=\(microseconds)"])
    }

    /// Sends `KEY=value` assignments as one datagram. Does not block: a full socket buffer is
    /// reported as an error rather than stalling the caller.
    public func send(_ assignments: [String]) throws(SDNotifyError) {
        guard let socketAddress else { return }
        var address = try Self.address(socketAddress)

        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SDNotifyError(socket: socketAddress, reason: .socket(.current)) }
        defer { close(fd) }

        var message = assignments.joined(separator: "\n") + "\n"
        let sent = message.withUTF8 { bytes in
            withUnsafePointer(to: &address.storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), socketAddress, address.length)
                }
            }
        }
        guard sent >= 0 else { throw SDNotifyError(socket: socketAddress, reason: .send(.current)) }
    }

    private static func address(_ text: String) throws(SDNotifyError) -> (storage: sockaddr_un, length: socklen_t) {
        var storage = sockaddr_un()
        storage.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(text.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        guard abstract || bytes.first == UInt8(ascii: "/") else {
            throw SDNotifyError(socket: text, reason: .unsupportedAddress)
        }
        if abstract { bytes[0] = 0 }
        // A path needs room for its terminating NUL; an abstract name is counted exactly.
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard bytes.count + (abstract ? 0 : 1) <= capacity else {
            throw SDNotifyError(socket: text, reason: .addressTooLong)
        }
        withUnsafeMutableBytes(of: &storage.sun_path) { path in
            path.copyBytes(from: bytes)
        }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (abstract ? 0 : 1)
        return (storage, socklen_t(length))
    }
}

/// A notification that could not be delivered. Callers log it and carry on: the daemon works
/// without systemd's bookkeeping, only `systemctl status` and the watchdog suffer.
public struct SDNotifyError: CodedError, Equatable {
    public enum Reason: Sendable, Equatable {
        /// Neither an absolute path nor `@abstract` (e.g. systemd's `vsock:` addresses).
        case unsupportedAddress
        case addressTooLong
        case socket(Errno)
        case send(Errno)
    }

    /// The value of `$NOTIFY_SOCKET`.
    public var socket: String
    public var reason: Reason

    public var code: String {
        switch reason {
        case .unsupportedAddress, .addressTooLong: "sd_notify.address"
        case .socket: "sd_notify.socket"
        case .send: "sd_notify.send"
        }
    }

    public var description: String {
        switch reason {
        case .unsupportedAddress:
            "NOTIFY_SOCKET '\(socket)' is not an absolute path or an @abstract socket name"
        case .addressTooLong:
            "NOTIFY_SOCKET '\(socket)' is longer than a Unix socket address can be"
        case .socket(let errno):
            "cannot create a socket for NOTIFY_SOCKET '\(socket)': \(errno)"
        case .send(let errno):
            "cannot notify systemd at '\(socket)': \(errno)"
        }
    }
}
