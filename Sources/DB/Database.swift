/// An opened database: a server reached by connection string, or the embedded cluster
/// (started by `open`). Hands out `Connection`s; `close()` stops the embedded cluster unless
/// another process still uses it.
public final class Database: Sendable {
    public let location: DatabaseLocation
    /// The embedded cluster, when that is what `location` names.
    public let embedded: EmbeddedPostgres?
    private let connectionString: String
    private let connectionOptions: ConnectionOptions

    private init(
        location: DatabaseLocation,
        embedded: EmbeddedPostgres?,
        connectionString: String,
        connectionOptions: ConnectionOptions
    ) {
        self.location = location
        self.embedded = embedded
        self.connectionString = connectionString
        self.connectionOptions = connectionOptions
    }

    /// For a server: validates the connection string (nothing is contacted until `connect`).
    /// For the embedded cluster: creates and starts it (or adopts the running server).
    public static func open(
        _ location: DatabaseLocation,
        embeddedOptions: EmbeddedPostgres.Options = EmbeddedPostgres.Options(),
        connectionOptions: ConnectionOptions = ConnectionOptions()
    ) async throws -> Database {
        switch location {
        case .server(let connectionString, _):
            _ = try ConnectionParameters(connectionString, applicationName: connectionOptions.applicationName)
            return Database(location: location, embedded: nil, connectionString: connectionString, connectionOptions: connectionOptions)
        case .embedded(let stateDirectory):
            let cluster = EmbeddedPostgres(stateDirectory: stateDirectory, options: embeddedOptions)
            do {
                try await cluster.start()
            } catch {
                _ = try? await cluster.stop()
                throw error
            }
            return Database(
                location: location, embedded: cluster,
                connectionString: cluster.connectionString, connectionOptions: connectionOptions
            )
        }
    }

    /// A new connection (each on its own thread); `options` default to those given to `open`.
    public func connect(options: ConnectionOptions? = nil) async throws -> Connection {
        try await Connection.connect(to: connectionString, options: options ?? connectionOptions)
    }

    /// Without a password: for logs and `volumed db url`.
    public var connectionDescription: String { location.connectionDescription }

    public var psqlCommand: String { location.psqlCommand }

    /// Stops the embedded cluster if this process is its last user; nothing for a server.
    public func close() async throws {
        try await embedded?.stop()
    }
}
