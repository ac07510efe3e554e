import FlyingSocks

/// Reads requests off one connection, never buffering more than the header limit plus one
/// read: a request line and headers up to `maxHeaderBytes`, then a body (skipped) up to
/// `maxBodyBytes`.
struct RequestReader {
    let socket: AsyncSocket
    let limits: DashboardLimits
    private var buffer: [UInt8] = []

    init(socket: AsyncSocket, limits: DashboardLimits) {
        self.socket = socket
        self.limits = limits
    }

    /// Bytes of a request have arrived that were not a whole request yet.
    var hasPartialRequest: Bool { !buffer.isEmpty }

    /// The next request; nil when the client closed the connection between requests.
    mutating func next() async throws -> DashboardRequest? {
        var searchFrom = 0
        while true {
            // Blank lines before a request line are allowed (RFC 9112 §2.2).
            while buffer.first == UInt8(ascii: "\r") || buffer.first == UInt8(ascii: "\n") { buffer.removeFirst() }
            if let (headEnd, bodyStart) = Self.endOfHead(in: buffer, from: searchFrom) {
                guard headEnd <= limits.maxHeaderBytes else { throw DashboardRequest.ParseError.headersTooLarge }
                let request = try DashboardRequest(head: buffer[..<headEnd])
                buffer.removeFirst(bodyStart)
                let length = try request.bodyLength(limit: limits.maxBodyBytes)
                while buffer.count < length {
                    guard try await fill() else { throw DashboardRequest.ParseError.malformed("the connection closed inside the body") }
                }
                buffer.removeFirst(length)
                return request
            }
            guard buffer.count <= limits.maxHeaderBytes else { throw DashboardRequest.ParseError.headersTooLarge }
            searchFrom = max(0, buffer.count - 2)
            guard try await fill() else {
                if buffer.isEmpty { return nil }
                throw DashboardRequest.ParseError.malformed("the connection closed inside the request")
            }
        }
    }

    /// Reads what has arrived (at least one byte); false at end of stream.
    private mutating func fill() async throws -> Bool {
        do {
            buffer += try await socket.read(atMost: 4096)
            return true
        } catch SocketError.disconnected {
            return false
        }
    }

    /// Where the head ends (before the blank line) and the body starts; accepts bare LF line ends.
    static func endOfHead(in bytes: [UInt8], from start: Int) -> (headEnd: Int, bodyStart: Int)? {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var index = start
        while index < bytes.count {
            if bytes[index] == lf {
                // The head ends before the last line's own "\r\n" (or "\n").
                let end = index > 0 && bytes[index - 1] == cr ? index - 1 : index
                if index + 1 < bytes.count, bytes[index + 1] == lf { return (end, index + 2) }
                if index + 2 < bytes.count, bytes[index + 1] == cr, bytes[index + 2] == lf { return (end, index + 3) }
            }
            index += 1
        }
        return nil
    }
}
