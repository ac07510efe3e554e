/// Which database volumed uses: `--database-url` > `VOLUMED_DATABASE_URL` > config
/// `[database] url` > the embedded cluster under the state directory. An empty value counts as
/// not given. A URL such as `postgresql://` leaves the rest to libpq's `PG*` variables.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    /// A server given by a libpq connection string or URL, and where that came from.
    case server(connectionString: String, source: Source)
    /// The private cluster under this state directory.
    case embedded(stateDirectory: String)

    public enum Source: String, Sendable {
        case commandLine = "--database-url"
        case environment = "VOLUMED_DATABASE_URL"
        case config = "[database] url"
    }

    public static let environmentVariable = "VOLUMED_DATABASE_URL"

    public static func resolve(
        commandLine: String?,
        environment: [String: String],
        configURL: String?,
        stateDirectory: String
    ) -> DatabaseLocation {
        let candidates: [(String?, Source)] = [
            (commandLine, .commandLine),
            (environment[environmentVariable], .environment),
            (configURL, .config),
        ]
        for case let (value?, source) in candidates where !value.isEmpty {
            return .server(connectionString: value, source: source)
        }
        return .embedded(stateDirectory: stateDirectory)
    }

    /// What to show a user: the server's host, port and database (never the connection string,
    /// which may carry a password or key paths), or the embedded cluster's connection string.
    public var connectionDescription: String {
        switch self {
        case .server(let connectionString, _):
            (try? ConnectionParameters(connectionString, applicationName: "volumed"))?.target
                ?? "a connection string libpq cannot parse"
        case .embedded(let stateDirectory): ClusterLayout(stateDirectory: stateDirectory).connectionString()
        }
    }

    /// The command that opens this database in psql (`volumed db url`), without a password.
    public var psqlCommand: String {
        switch self {
        case .server(let connectionString, _):
            "psql " + ClusterLayout.shellQuote(Redaction.redactConnectionString(connectionString))
        case .embedded(let stateDirectory):
            ClusterLayout(stateDirectory: stateDirectory).psqlCommand
        }
    }

    public var description: String {
        switch self {
        case .server(_, let source): "\(connectionDescription) (from \(source.rawValue))"
        case .embedded(let stateDirectory):
            "embedded cluster in \(ClusterLayout(stateDirectory: stateDirectory).clusterDirectory)"
        }
    }
}
