import DB
import Logging
import ServiceLifecycle

/// The dashboard inside `volumed serve` (`[http] listen`): the HTTP server, the database
/// listener feeding the event streams, and the keep-alive ticker, as one service of the
/// daemon's group. It binds its address when made, so a taken port stops the daemon at start.
///
/// It uses two database connections of its own (each an actor on its own thread): one for the
/// pages, the API and `/metrics`, and one that waits on `LISTEN volumed_estimates`. Requests
/// never touch the workers' connections or threads.
///
/// Graceful shutdown: stop accepting, end the open event streams, give requests in flight
/// `limits.shutdownGrace`, return.
public struct DashboardService: Service {
    public let server: DashboardServer
    public let broadcaster: EstimateBroadcaster
    private let metrics: DaemonMetrics
    private let connect: @Sendable (ConnectionOptions) async throws -> Connection
    private let logger: Logger

    /// - Parameter connect: a new connection with these options (`Database.connect(options:)`).
    public init(host: String, port: UInt16, ipv6: Bool, limits: DashboardLimits = DashboardLimits(),
                metrics: DaemonMetrics, logger: Logger,
                connect: @escaping @Sendable (ConnectionOptions) async throws -> Connection) throws(DashboardError) {
        server = try DashboardServer(host: host, port: port, ipv6: ipv6, limits: limits, logger: logger)
        broadcaster = EstimateBroadcaster(maxStreams: limits.maxEventStreams)
        self.metrics = metrics
        self.connect = connect
        self.logger = logger
    }

    /// `http://127.0.0.1:8321/`
    public var url: String { "http://\(server.address)/" }

    public func run() async throws {
        let metrics = metrics, broadcaster = broadcaster
        let connection = try await connect(options(onReconnect: { metrics.databaseReconnected() }))
        let router = DashboardRouter(store: DashboardStore(connection: connection), broadcaster: broadcaster,
                                     metrics: metrics, logger: logger)
        let listener = EstimateListener(
            connect: { [connect] in
                try await connect(options(onReconnect: {
                    metrics.databaseReconnected()
                    broadcaster.publishRefresh()
                }))
            },
            broadcaster: broadcaster, logger: logger)
        let keepAlive = server.limits.keepAliveInterval
        do {
            try await withGracefulShutdownHandler {
                try await cancelWhenGracefulShutdown {
                    try await withThrowingDiscardingTaskGroup { group in
                        group.addTask { try await server.run { await router.respond(to: $0) } }
                        group.addTask { await listener.run() }
                        group.addTask {
                            while (try? await Task.sleep(for: keepAlive)) != nil { broadcaster.keepAlive() }
                        }
                    }
                }
            } onGracefulShutdown: {
                broadcaster.close()
            }
        } catch {
            broadcaster.close()
            await connection.close()
            throw error
        }
        broadcaster.close()
        await connection.close()
    }

    private func options(onReconnect: @escaping @Sendable () -> Void) -> ConnectionOptions {
        ConnectionOptions(applicationName: "volumed-dashboard", onReconnect: onReconnect)
    }
}
