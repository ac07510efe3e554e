/// What one client may cost the daemon. The dashboard shares the process with the estimation
/// workers, so every request is bounded in size, count and time.
public struct DashboardLimits: Sendable, Equatable {
    /// Request line and headers together; larger gets 431.
    public var maxHeaderBytes = 8 * 1024
    /// The dashboard reads no bodies; a larger one gets 413.
    public var maxBodyBytes = 1024
    /// Open connections, event streams included; more get 503.
    public var maxConnections = 64
    /// Open event streams (`/events`, `/runs/<id>/events`); more get 503.
    public var maxEventStreams = 32
    /// To receive a whole request (and between requests on a kept-alive connection), to answer
    /// it, and to write each part of a response.
    public var requestTimeout: Duration = .seconds(10)
    /// A comment on every event stream this often.
    public var keepAliveInterval: Duration = .seconds(15)
    /// On graceful shutdown, how long requests in flight may finish before they are cut.
    public var shutdownGrace: Duration = .seconds(2)

    public init() {}
}
