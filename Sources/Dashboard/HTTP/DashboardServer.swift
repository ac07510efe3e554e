import FlyingSocks
import Foundation
import Logging

/// The dashboard's HTTP/1.1 server, on FlyingSocks' non-blocking sockets and epoll (the socket
/// layer of FlyingFox; no SwiftNIO).
///
/// FlyingFox's own `HTTPServer` reads request lines and headers of any length, drains bodies of
/// any size, accepts any number of connections and has no read timeout, and the dashboard runs
/// beside the estimation workers: so this server has its own connection loop with the limits
/// of `DashboardLimits` — 431/413 for oversized requests, 503 beyond the connection or event
/// stream limit, a deadline on reading, answering and writing (a reaper cancels a connection
/// past its deadline). Event streams are written as they come and end with the connection.
///
/// Nothing here blocks a thread: sockets wait in epoll, the database is reached through the
/// router's own `Connection`s (each an actor on its own thread), and handlers run on Swift's
/// cooperative pool, never on the estimator's threads.
public final class DashboardServer: Sendable {
    public let limits: DashboardLimits
    /// The port listened on (the system's choice when 0 was asked for).
    public let port: UInt16
    /// `127.0.0.1:8321`, `[::1]:8321`.
    public let address: String
    private let socket: Socket
    private let logger: Logger
    private let connections = ConnectionRegistry()

    /// Binds and listens at once, so a taken address fails at start-up (and port 0 resolves).
    public init(host: String, port: UInt16, ipv6: Bool, limits: DashboardLimits = DashboardLimits(),
                logger: Logger) throws(DashboardError) {
        let written = ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
        do {
            let socket = try Socket(domain: ipv6 ? AF_INET6 : AF_INET, type: .stream)
            try socket.setValue(true, for: .localAddressReuse)
            if ipv6 {
                try socket.bind(to: sockaddr_in6.inet6(ip6: host, port: port))
            } else {
                try socket.bind(to: sockaddr_in.inet(ip4: host, port: port))
            }
            try socket.listen(maxPendingConnection: 128)
            self.socket = socket
            switch try socket.sockname() {
            case .ip4(_, let bound), .ip6(_, let bound): self.port = bound
            case .unix: self.port = port
            }
        } catch {
            throw DashboardError(address: written, detail: "\(error)")
        }
        self.address = ipv6 ? "[\(host)]:\(self.port)" : "\(host):\(self.port)"
        self.limits = limits
        self.logger = logger
    }

    public typealias Responder = @Sendable (DashboardRequest) async -> DashboardResponse

    /// Connections being served now (refusals not counted).
    public var connectionCount: Int { connections.servingCount }

    /// Serves until the task is cancelled; then stops accepting, lets requests in flight finish
    /// for `limits.shutdownGrace` (event streams end when their broadcaster closes), cuts the
    /// rest and returns.
    public func run(_ respond: @escaping Responder) async throws {
        let pool = SocketPool<Poll>.make(maxEvents: 64)
        try await pool.prepare()
        let listener = try AsyncSocket(socket: socket, pool: pool)
        let poolTask = Task { try await pool.run() }
        let reaper = Task { [connections] in
            while (try? await Task.sleep(for: .milliseconds(200))) != nil { connections.cancelExpired() }
        }
        logger.info("dashboard listening on http://\(address)/")
        while !Task.isCancelled {
            do {
                accept(try await listener.accept(), respond)
            } catch {
                if !Task.isCancelled {
                    logger.error("dashboard: accepting a connection failed", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
        }
        try? socket.close()
        // The drain runs in a task of its own: this one is cancelled, so its sleeps would not wait.
        await Task { [connections, limits] in await connections.drain(grace: limits.shutdownGrace) }.value
        reaper.cancel()
        poolTask.cancel()
        _ = await poolTask.result
        logger.info("dashboard stopped")
    }

    private func accept(_ client: AsyncSocket, _ respond: @escaping Responder) {
        switch connections.admit(limit: limits.maxConnections) {
        case .serve(let id):
            connections.attach(Task { await self.serve(client, id: id, respond) }, to: id)
        case .reject(let id):
            connections.attach(Task { await self.refuse(client, id: id) }, to: id)
        case .drop:
            try? client.close()
        }
    }

    private func serve(_ client: AsyncSocket, id: Int, _ respond: Responder) async {
        defer {
            try? client.close()
            connections.remove(id)
        }
        var reader = RequestReader(socket: client, limits: limits)
        while true {
            connections.setDeadline(id, after: limits.requestTimeout)
            let request: DashboardRequest
            do {
                guard let next = try await reader.next() else { return }
                request = next
            } catch let error as DashboardRequest.ParseError {
                let response: DashboardResponse = switch error {
                case .headersTooLarge: .text(431, "The request's headers are larger than \(limits.maxHeaderBytes) bytes.")
                case .bodyTooLarge: .text(413, "The dashboard accepts no request body larger than \(limits.maxBodyBytes) bytes.")
                case .malformed(let why): .text(400, "Bad request: \(why).")
                }
                await finish(client, id: id, with: response)
                return
            } catch {
                if Task.isCancelled, reader.hasPartialRequest {
                    await finish(client, id: id, with: .text(408, "The request did not arrive within \(limits.requestTimeout)."))
                }
                return
            }
            let response = await respond(request)
            let keepAlive = request.keepAlive && !connections.isStopping
            do {
                try await client.write(Data(response.head(keepAlive: keepAlive)))
                switch response.body {
                case .bytes(let bytes):
                    if request.method != "HEAD", !bytes.isEmpty { try await client.write(Data(bytes)) }
                case .events(let subscription):
                    defer { subscription.end() }
                    try await stream(subscription.stream, to: client, id: id)
                    return
                }
            } catch {
                return
            }
            guard keepAlive, !Task.isCancelled else { return }
        }
    }

    /// Writes events as they come, each within the request timeout; returns when the stream ends
    /// (shutdown, or the client was too slow) or the client is gone.
    private func stream(_ events: EstimateBroadcaster.Stream, to client: AsyncSocket, id: Int) async throws {
        connections.setDeadline(id, after: nil)
        for await message in events {
            connections.setDeadline(id, after: limits.requestTimeout)
            try await client.write(Data(message))
            connections.setDeadline(id, after: nil)
        }
    }

    /// Over the connection limit: read the request (briefly) so the answer is not lost to a reset.
    private func refuse(_ client: AsyncSocket, id: Int) async {
        defer {
            try? client.close()
            connections.remove(id)
        }
        connections.setDeadline(id, after: .seconds(1))
        var reader = RequestReader(socket: client, limits: limits)
        _ = try? await reader.next()
        await finish(client, id: id, with: .text(503, "Too many connections to the dashboard; try again shortly.",
                                                   headers: [("Retry-After", "5")]))
    }

    /// Sends a last response and lets the client read it: stop writing, then drain what it
    /// still sends for a moment (closing with unread input would reset the connection and could
    /// destroy the response before the client reads it).
    private func finish(_ client: AsyncSocket, id: Int, with response: DashboardResponse) async {
        connections.setDeadline(id, after: .seconds(1))
        guard (try? await client.write(Data(response.head(keepAlive: false) + Self.bytes(of: response)))) != nil else { return }
        _ = shutdown(client.socket.file.rawValue, Int32(SHUT_WR))
        var drained = 0
        while drained < 1 << 20, let bytes = try? await client.read(atMost: 4096) {
            drained += bytes.count
        }
    }

    private static func bytes(of response: DashboardResponse) -> [UInt8] {
        if case .bytes(let bytes) = response.body { bytes } else { [] }
    }
}
