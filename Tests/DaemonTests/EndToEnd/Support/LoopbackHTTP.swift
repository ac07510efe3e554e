import Base
import Foundation
import ProcessHarness

/// An HTTP response as the browser tests look at it.
struct HTTPResponse: Sendable {
    var status: Int
    /// Names lowercased, in order.
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? {
        headers.first { $0.name == name.lowercased() }?.value
    }

    /// Splits a response head (status line and headers, without the blank line).
    static func parseHead(_ head: String) throws -> (status: Int, headers: [(name: String, value: String)]) {
        let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.first.map(String.init) ?? ""
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw HarnessError("not an HTTP/1.x status line: \(statusLine)")
        }
        let headers = try lines.dropFirst().map { line in
            guard let colon = line.firstIndex(of: ":") else { throw HarnessError("malformed header line: \(line)") }
            return (name: line[..<colon].lowercased(), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return (status, headers)
    }
}

/// One-shot HTTP/1.1 GETs to a server on 127.0.0.1 (the dashboard, Chromium's DevTools
/// endpoint), each on a dispatch queue of its own, off Swift's cooperative pool.
enum LoopbackHTTP {
    static func get(port: UInt16, _ path: String, timeout: Duration = .seconds(10)) async throws -> HTTPResponse {
        try await BlockingQueue(label: "volumed-tests.http-get").run {
            try getBlocking(port: port, path, timeout: timeout)
        }
    }

    /// `Connection: close`, so the response ends where the connection does.
    static func getBlocking(port: UInt16, _ path: String, timeout: Duration) throws -> HTTPResponse {
        let socket = try LoopbackSocket(port: port, timeout: timeout)
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        try socket.send(Array(request.utf8), timeout: timeout)
        let data = try socket.receiveAll(timeout: timeout)
        guard let end = data.firstRange(of: Array("\r\n\r\n".utf8)) else {
            throw HarnessError("GET \(path) on 127.0.0.1:\(port): no complete response head in \(data.count) bytes")
        }
        let (status, headers) = try HTTPResponse.parseHead(String(decoding: data[..<end.lowerBound], as: UTF8.self))
        var response = HTTPResponse(status: status, headers: headers, body: Array(data[end.upperBound...]))
        if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            response.body = try dechunk(response.body)
        } else if let length = response.header("content-length").flatMap(Int.init) {
            guard response.body.count >= length else {
                throw HarnessError("GET \(path): body has \(response.body.count) of \(length) bytes")
            }
            response.body = Array(response.body.prefix(length))
        }
        return response
    }

    /// The body of a `Transfer-Encoding: chunked` message.
    static func dechunk(_ data: [UInt8]) throws -> [UInt8] {
        var body: [UInt8] = []
        var position = 0
        while true {
            guard let lineEnd = data[position...].firstRange(of: [13, 10]) else { throw HarnessError("chunked body: missing chunk size") }
            let sizeText = String(decoding: data[position..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw HarnessError("chunked body: bad chunk size \(sizeText)")
            }
            position = lineEnd.upperBound
            if size == 0 { return body }
            guard position + size + 2 <= data.count else { throw HarnessError("chunked body: truncated chunk") }
            body += data[position..<position + size]
            position += size + 2
        }
    }
}
