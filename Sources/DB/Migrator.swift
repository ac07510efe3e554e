import Foundation

/// Applies migrations in version order, each in its own transaction, under a PostgreSQL
/// advisory lock (so concurrent migrators apply each exactly once), recording them in
/// `schema_migrations (version, name, checksum, applied_at)`.
///
/// An applied migration whose text has changed is an error (`db.migration_checksum`) naming
/// the file, as is a database that has a migration this binary does not know
/// (`db.migration_unknown`: an older volumed against a newer schema).
/// Migration files must not contain their own `BEGIN`/`COMMIT`.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    /// Arbitrary constant identifying volumed's migration lock ("volumed" in ASCII).
    static let advisoryLockKey: Int64 = 0x766F_6C75_6D65_64

    public init(migrations: [Migration] = Migration.bundled) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// A migration as recorded in the database, or pending.
    public struct Status: Sendable, Equatable {
        public let version: Int
        public let name: String
        /// When it was applied; nil while pending.
        public let appliedAt: Date?
    }

    /// Applies every pending migration; returns those applied by this call (empty when the
    /// schema was already current, including when a concurrent migrator applied them).
    @discardableResult
    public func migrate(_ connection: Connection) async throws -> [Migration] {
        try validateList()
        return try await connection.withRawSession(idempotent: true) { session in
            try withLock(session) {
                let applied = try appliedMigrations(session)
                try verify(applied)
                let known = Set(applied.map(\.version))
                var appliedNow: [Migration] = []
                for migration in migrations where !known.contains(migration.version) {
                    try apply(migration, on: session)
                    appliedNow.append(migration)
                }
                return appliedNow
            }
        }
    }

    /// Every known migration and whether it has been applied, plus (as errors) any mismatch.
    public func status(_ connection: Connection) async throws -> [Status] {
        try validateList()
        return try await connection.withRawSession(idempotent: true) { session in
            let exists = try session.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
            guard try exists.rows.first?.decode(Bool.self, column: "present") == true else {
                return migrations.map { Status(version: $0.version, name: $0.name, appliedAt: nil) }
            }
            let applied = try appliedMigrations(session)
            try verify(applied)
            let dates = Dictionary(uniqueKeysWithValues: applied.map { ($0.version, $0.appliedAt) })
            return migrations.map { Status(version: $0.version, name: $0.name, appliedAt: dates[$0.version]) }
        }
    }

    private struct Applied {
        let version: Int
        let name: String
        let checksum: String
        let appliedAt: Date
    }

    private func validateList() throws {
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw DatabaseError(
                code: "db.migration",
                message: "\(previous.fileDescription) and \(next.fileDescription) have the same version \(next.version)"
            )
        }
    }

    private func withLock<T>(_ session: LibPQSession, _ body: () throws -> T) throws -> T {
        _ = try session.execute("SELECT pg_advisory_lock($1)", [Self.advisoryLockKey])
        defer {
            if !session.isBroken {
                _ = try? session.execute("SELECT pg_advisory_unlock($1)", [Self.advisoryLockKey])
            }
        }
        _ = try session.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     integer     PRIMARY KEY,
                name        text        NOT NULL,
                checksum    text        NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """)
        return try body()
    }

    private func appliedMigrations(_ session: LibPQSession) throws -> [Applied] {
        try session.execute("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")
            .rows.map { row in
                Applied(
                    version: try row.decode(Int.self, column: "version"),
                    name: try row.decode(String.self, column: "name"),
                    checksum: try row.decode(String.self, column: "checksum"),
                    appliedAt: try row.decode(Date.self, column: "applied_at")
                )
            }
    }

    private func verify(_ applied: [Applied]) throws {
        let byVersion = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for record in applied {
            guard let migration = byVersion[record.version] else {
                throw DatabaseError(
                    code: "db.migration_unknown",
                    message: "the database has migration \(record.version) (\(record.name)), which this volumed does not know; use a newer volumed"
                )
            }
            guard migration.checksum == record.checksum else {
                throw DatabaseError(
                    code: "db.migration_checksum",
                    message: "\(migration.fileDescription) was changed after it was applied (checksum \(record.checksum.prefix(12))… in the database, \(migration.checksum.prefix(12))… now); restore the file and add a new migration instead"
                )
            }
        }
    }

    private func apply(_ migration: Migration, on session: LibPQSession) throws {
        do {
            try Connection.runTransaction(on: session) { transaction in
                try transaction.session.executeScript(migration.sql)
                try transaction.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum]
                )
            }
        } catch let error as DatabaseError where !error.isConnectionLoss {
            throw DatabaseError(
                code: "db.migration",
                message: error.message,
                sqlState: error.sqlState,
                context: "applying \(migration.fileDescription)"
            )
        }
    }
}
