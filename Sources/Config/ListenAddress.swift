import Glibc

/// Where the dashboard listens: an IP address literal and a TCP port, written `host:port` for
/// IPv4 and `[host]:port` for IPv6 (`127.0.0.1:8321`, `[::1]:8321`). Host names are refused:
/// what a name resolves to can change, and binding a public address must be a visible choice.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable { case ipv4, ipv6 }

    /// The address without brackets (`127.0.0.1`, `::1`).
    public var host: String
    /// 0 asks the system for a free port (tests); the chosen one is logged.
    public var port: UInt16
    public var family: Family

    public static let dashboardDefault = ListenAddress(host: "127.0.0.1", port: 8321, family: .ipv4)

    public init(host: String, port: UInt16, family: Family) {
        self.host = host
        self.port = port
        self.family = family
    }

    /// Why a `listen` value is not an address.
    public struct ParseError: Error, Sendable, Equatable {
        public var reason: String
    }

    public init(parsing text: String) throws(ParseError) {
        let hostPart: Substring, portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw ParseError(reason: "an IPv6 address needs its closing bracket, as in \"[::1]:8321\"")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw ParseError(reason: "expected \":port\" after \"]\", as in \"[::1]:8321\"") }
            portPart = rest.dropFirst()
            guard Self.isAddress(String(hostPart), family: AF_INET6) else {
                throw ParseError(reason: "\"\(hostPart)\" is not an IPv6 address")
            }
            family = .ipv6
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ParseError(reason: "expected \"host:port\", as in \"127.0.0.1:8321\"")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw ParseError(reason: "write an IPv6 address in brackets, as in \"[::1]:8321\"")
            }
            guard Self.isAddress(String(hostPart), family: AF_INET) else {
                throw ParseError(reason: "\"\(hostPart)\" is not an IPv4 address (host names are not accepted; use 127.0.0.1 or [::1] for this machine only)")
            }
            family = .ipv4
        }
        guard !portPart.isEmpty, portPart.allSatisfy(\.isASCII), portPart.allSatisfy(\.isNumber),
              let port = UInt16(portPart) else {
            throw ParseError(reason: "the port must be a number from 0 to 65535")
        }
        self.host = String(hostPart)
        self.port = port
    }

    /// `127.0.0.1:8321`, `[::1]:8321`.
    public var description: String {
        family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private static func isAddress(_ text: String, family: Int32) -> Bool {
        var buffer = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buffer) { inet_pton(family, text, $0.baseAddress) == 1 }
    }
}
