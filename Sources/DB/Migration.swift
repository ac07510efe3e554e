import Hashing
/// One schema migration: a numbered SQL file from the package's `migrations/` folder,
/// compiled into the binary (`Migration.bundled`), identified by its version and checksummed so
/// that editing an applied migration is caught.
public struct Migration: Sendable, Equatable {
    public let version: Int
    /// The file name, e.g. `0001_initial.sql`.
    public let name: String
    public let sql: String
    /// Lowercase hex SHA-256 of the SQL text (UTF-8).
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        checksum = SHA256.hexDigest(sql.utf8)
    }

    /// The migrations shipped in this binary, in version order.
    public static var bundled: [Migration] { embedded }

    /// How errors name the migration: its path in the source tree.
    var fileDescription: String { "migrations/\(name)" }
}
