import Logging

/// How a `Connection` connects and recovers.
public struct ConnectionOptions: Sendable {
    public var reconnect: ReconnectPolicy
    /// Shown in `pg_stat_activity` unless the connection string sets `application_name`.
    public var applicationName: String
    /// A schema search path set on every (re)connect, e.g. a scratch schema for benchmarks.
    public var searchPath: String?
    public var logger: Logger
    /// Called (on the connection's thread) each time a lost session is re-established, after
    /// its `LISTEN`s are re-issued: notifications sent meanwhile were lost. Metrics count it.
    public var onReconnect: (@Sendable () -> Void)?

    public init(
        reconnect: ReconnectPolicy = ReconnectPolicy(),
        applicationName: String = "volumed",
        searchPath: String? = nil,
        logger: Logger = Logger(label: "volumed.db"),
        onReconnect: (@Sendable () -> Void)? = nil
    ) {
        self.reconnect = reconnect
        self.applicationName = applicationName
        self.searchPath = searchPath
        self.logger = logger
        self.onReconnect = onReconnect
    }
}

/// Exponential backoff while the server is away: `initialDelay`, doubling up to
/// `maximumDelay`, giving up (`db.connection_lost`) after `giveUpAfter`.
public struct ReconnectPolicy: Sendable {
    public var initialDelay: Duration
    public var maximumDelay: Duration
    public var giveUpAfter: Duration

    public init(
        initialDelay: Duration = .milliseconds(50),
        maximumDelay: Duration = .seconds(2),
        giveUpAfter: Duration = .seconds(60)
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.giveUpAfter = giveUpAfter
    }
}
