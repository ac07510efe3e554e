/// A response: status, headers, and a body that is either whole or a stream of server-sent
/// events (written as it comes, the connection closed at its end).
public struct DashboardResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        case events(EstimateBroadcaster.Subscription)
    }

    public var status: Int
    /// Besides those every response gets (`Content-Length`, `Connection`, the security headers).
    public var headers: [(String, String)]
    public var body: Body

    public init(status: Int, headers: [(String, String)] = [], body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: Int = 200, contentType: String, _ text: String) {
        self.init(status: status, headers: [("Content-Type", contentType)], body: .bytes(Array(text.utf8)))
    }

    /// One plain sentence: errors, 404s.
    public static func text(_ status: Int, _ sentence: String, headers: [(String, String)] = []) -> DashboardResponse {
        var response = DashboardResponse(status: status, contentType: "text/plain; charset=utf-8", sentence + "\n")
        response.headers += headers
        return response
    }

    public static func html(_ page: String) -> DashboardResponse {
        DashboardResponse(contentType: "text/html; charset=utf-8", page)
    }

    /// Pages may run their own inline script and style (the live update); nothing is loaded
    /// from elsewhere, and nothing may frame them.
    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy",
         "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]

    /// The status line and headers; `Content-Length` for whole bodies (also for HEAD), none for
    /// event streams, which end with the connection.
    func head(keepAlive: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        for (name, value) in headers + Self.securityHeaders {
            text += "\(name): \(value)\r\n"
        }
        switch body {
        case .bytes(let bytes):
            text += "Content-Length: \(bytes.count)\r\n"
            text += keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n"
        case .events:
            text += "Connection: close\r\n"
        }
        return Array((text + "\r\n").utf8)
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status \(status)"
        }
    }
}
