import Foundation
import ProcessHarness

/// The client side of a WebSocket (RFC 6455) to a server on 127.0.0.1, for Chromium's
/// DevTools endpoint: the HTTP/1.1 upgrade, masked frames out. Reading is `WebSocketReader`'s
/// job, on one thread; sending may happen from any.
final class WebSocketConnection: Sendable {
    let socket: LoopbackSocket
    let url: String

    private init(socket: LoopbackSocket, url: String) {
        self.socket = socket
        self.url = url
    }

    /// Connects to `url` (`ws://127.0.0.1:<port>/<path>`) and completes the opening handshake
    /// within `timeout`. Blocks the calling thread. Returns the connection and the reader that
    /// owns whatever the server sent after its handshake response.
    static func connect(to url: String, timeout: Duration = .seconds(10)) throws -> (WebSocketConnection, WebSocketReader) {
        guard let parsed = URLComponents(string: url), parsed.scheme == "ws", let port = parsed.port,
              parsed.host == "127.0.0.1" || parsed.host == "localhost"
        else { throw HarnessError("not a ws:// URL on 127.0.0.1 with a port: \(url)") }
        let path = parsed.percentEncodedPath.isEmpty ? "/" : parsed.percentEncodedPath
        let deadline = ContinuousClock.now + timeout
        let socket = try LoopbackSocket(port: UInt16(port), timeout: timeout)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        // No Origin header: Chromium refuses DevTools connections from origins it was not told
        // to allow, and a client that is not a web page sends none.
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try socket.send(Array(request.utf8), timeout: timeout)

        var received: [UInt8] = []
        let headEnd: Range<Int>
        while true {
            if let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                headEnd = end
                break
            }
            switch try socket.receive(timeout: deadline - ContinuousClock.now) {
            case .bytes(let bytes): received += bytes
            case .closed: throw HarnessError("\(url) closed the connection during the WebSocket handshake")
            case .timedOut: throw HarnessError("\(url) did not answer the WebSocket handshake in \(timeout)")
            }
        }
        let head = String(decoding: received[..<headEnd.lowerBound], as: UTF8.self)
        let (status, headers) = try HTTPResponse.parseHead(head)
        let response = HTTPResponse(status: status, headers: headers, body: [])
        guard status == 101, response.header("upgrade")?.lowercased() == "websocket" else {
            throw HarnessError("\(url) refused the WebSocket upgrade:\n\(head)")
        }
        let expected = Data(SHA1.digest(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
        guard response.header("sec-websocket-accept") == expected else {
            throw HarnessError("\(url) answered the WebSocket key wrongly (Sec-WebSocket-Accept \(response.header("sec-websocket-accept") ?? "missing"), expected \(expected))")
        }
        let connection = WebSocketConnection(socket: socket, url: url)
        return (connection, WebSocketReader(connection: connection, buffered: Array(received[headEnd.upperBound...])))
    }

    func sendText(_ text: String, timeout: Duration = .seconds(10)) throws {
        try send(WebSocketFrame(.text, Array(text.utf8)), timeout: timeout)
    }

    /// Sends `frame` masked with a fresh key, as a client must.
    func send(_ frame: WebSocketFrame, timeout: Duration = .seconds(10)) throws {
        try socket.send(frame.encoded(mask: (0..<4).map { _ in UInt8.random(in: 0...255) }), timeout: timeout)
    }

    /// Says goodbye (status 1000) if the socket still takes it, then shuts the socket down,
    /// which also ends a reader waiting on it.
    func close() {
        try? send(WebSocketFrame(.close, [0x03, 0xE8]), timeout: .milliseconds(200))
        socket.shutDown()
    }
}

/// Reads a `WebSocketConnection`'s messages on one thread: answers pings, puts fragmented
/// messages together, and returns text, binary and close messages.
struct WebSocketReader {
    let connection: WebSocketConnection
    private var buffer: [UInt8]
    private var start = 0
    private var assembler = WebSocketMessageAssembler()

    init(connection: WebSocketConnection, buffered: [UInt8]) {
        self.connection = connection
        buffer = buffered
    }

    /// The next text, binary or close message, nil if none came within `timeout`. A
    /// connection that ends without a close frame reads as `.close(code: 1006, …)`.
    mutating func next(timeout: Duration) throws -> WebSocketMessage? {
        let deadline = ContinuousClock.now + timeout
        while true {
            while let (frame, next) = try WebSocketFrame.decode(buffer, at: start) {
                start = next
                switch try assembler.take(frame) {
                case nil, .pong?:
                    continue
                case .ping(let payload)?:
                    try connection.send(WebSocketFrame(.pong, payload))
                case .close(let code, let reason)?:
                    // Echo the status (§5.5.1); the server then closes the TCP connection.
                    let echo = code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []
                    try? connection.send(WebSocketFrame(.close, echo), timeout: .milliseconds(200))
                    return .close(code: code, reason: reason)
                case let message?:
                    return message
                }
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            switch try connection.socket.receive(timeout: deadline - ContinuousClock.now) {
            case .bytes(let bytes): buffer += bytes
            case .closed: return .close(code: 1006, reason: "the connection ended without a close frame")
            case .timedOut: return nil
            }
        }
    }
}
