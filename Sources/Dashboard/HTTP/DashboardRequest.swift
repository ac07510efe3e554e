import Foundation

/// A request as the dashboard's router sees it: HTTP/1.x, origin-form target, no body.
public struct DashboardRequest: Sendable, Equatable {
    public var method: String
    /// The target's path, percent-encoded as sent (`/runs/3`).
    public var path: String
    /// Decoded query parameters; the last of a repeated name wins.
    public var query: [String: String]
    /// Header names in lower case; the last of a repeated name wins.
    public var headers: [String: String]
    /// `HTTP/1.1` keeps the connection unless it says `Connection: close`; `HTTP/1.0` closes it.
    public var keepAlive: Bool

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
                keepAlive: Bool = true) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.keepAlive = keepAlive
    }

    /// Why bytes are not a request the dashboard serves.
    enum ParseError: Error, Equatable {
        /// 431: the request line and headers exceed the limit.
        case headersTooLarge
        /// 413: a body larger than the limit, or a chunked one.
        case bodyTooLarge
        /// 400.
        case malformed(String)
    }

    /// Parses the request line and headers (`head`, without the blank line that ends them).
    init(head: ArraySlice<UInt8>) throws(ParseError) {
        guard let text = String(validating: head, as: UTF8.self) else { throw .malformed("the request head is not UTF-8") }
        // "\r\n" is one Character in Swift: split on it and on a bare "\n".
        var lines = text.split(omittingEmptySubsequences: false) { $0 == "\r\n" || $0 == "\n" }
        guard !lines.isEmpty else { throw .malformed("empty request") }
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3, !requestLine[0].isEmpty, requestLine[0].allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw .malformed("the request line is not \"METHOD /path HTTP/1.1\"")
        }
        let version = requestLine[2]
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw .malformed("unsupported HTTP version \(version)") }
        let target = requestLine[1]
        guard target.hasPrefix("/") else { throw .malformed("the target must be a path") }

        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex, !line.first!.isWhitespace else {
                throw .malformed("a header line is not \"Name: value\"")
            }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let connection = headers["connection"]?.lowercased() ?? ""
        self.init(method: String(requestLine[0]), path: "", headers: headers,
                  keepAlive: version == "HTTP/1.1" ? !connection.contains("close") : false)
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let nameValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode = { (s: Substring) in
                    String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s)
                }
                query[decode(nameValue[0])] = nameValue.count == 2 ? decode(nameValue[1]) : ""
            }
        }
    }

    /// The body's length from the headers, checked against the limit.
    func bodyLength(limit: Int) throws(ParseError) -> Int {
        if headers["transfer-encoding"] != nil { throw .bodyTooLarge }
        guard let text = headers["content-length"] else { return 0 }
        guard let length = Int(text), length >= 0, text.allSatisfy(\.isASCII) else {
            throw .malformed("Content-Length is not a number")
        }
        guard length <= limit else { throw .bodyTooLarge }
        return length
    }
}
