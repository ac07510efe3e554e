import Hashing
import Foundation

/// Where an embedded cluster lives under a state directory, and how to reach it. Pure path
/// arithmetic: computing it touches nothing, so `volumed db url` can print the psql command
/// without starting the cluster.
public struct ClusterLayout: Sendable, Equatable {
    /// `<state>/postgres`: data, log, lock files (and usually the socket).
    public let clusterDirectory: String
    /// `<state>/postgres/data`: the PostgreSQL data directory.
    public let dataDirectory: String
    /// `<state>/postgres/run`, or a short `/tmp/volumed-<hash>` when that path would exceed
    /// the Unix socket path limit (or contains a comma).
    public let socketDirectory: String
    public let logFile: String
    public let port = 5432
    public let databaseName: String
    /// The superuser `initdb` creates.
    public let user = "postgres"

    /// `sun_path` is 108 bytes including the terminating NUL.
    static let maximumSocketPathLength = 107

    public init(stateDirectory: String, databaseName: String = "volumed") {
        let state = Self.absolute(stateDirectory)
        clusterDirectory = state == "/" ? "/postgres" : state + "/postgres"
        dataDirectory = clusterDirectory + "/data"  // EmbeddedPostgres.relativeDataDirectory
        logFile = clusterDirectory + "/postgres.log"  // EmbeddedPostgres.relativeLogFile
        self.databaseName = databaseName
        let preferred = clusterDirectory + "/run"
        // libpq reads a comma in `host` as a list of hosts.
        if (preferred + "/.s.PGSQL.\(port)").utf8.count <= Self.maximumSocketPathLength, !preferred.contains(",") {
            socketDirectory = preferred
        } else {
            // Stable per data directory, so the psql command stays the same across restarts.
            socketDirectory = "/tmp/volumed-" + SHA256.hexDigest(dataDirectory.utf8).prefix(16)
        }
    }

    /// True when the socket lives outside the cluster directory.
    var usesShortSocketDirectory: Bool { !socketDirectory.hasPrefix(clusterDirectory + "/") }

    /// A libpq connection string for `database` (default: the volumed database).
    public func connectionString(database: String? = nil, password: String? = nil) -> String {
        var pairs = [
            ("host", socketDirectory), ("port", String(port)),
            ("dbname", database ?? databaseName), ("user", user),
        ]
        if let password { pairs.append(("password", password)) }
        return pairs.map { "\($0.0)=\(Self.quoteValue($0.1))" }.joined(separator: " ")
    }

    /// The psql command that opens the volumed database (no password in it).
    public var psqlCommand: String {
        "psql " + Self.shellQuote(connectionString())
    }

    /// libpq value quoting: bare when safe, else single quotes with `'` and `\` escaped.
    static func quoteValue(_ value: String) -> String {
        let safe = !value.isEmpty && value.allSatisfy { !$0.isWhitespace && $0 != "'" && $0 != "\\" && $0 != "=" }
        if safe { return value }
        return "'" + value.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }

    /// POSIX shell single-quoting.
    static func shellQuote(_ text: String) -> String {
        "'" + text.replacing("'", with: "'\\''") + "'"
    }

    /// `path` made absolute against the working directory and with `.`/`..`/`//` resolved
    /// lexically (the directory may not exist yet).
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for part in full.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
