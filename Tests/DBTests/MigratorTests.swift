import Hashing
import Foundation
import Testing
@testable import DB

private func appliedVersions(_ connection: Connection) async throws -> [Int] {
    try await connection.query("SELECT version FROM schema_migrations ORDER BY version")
        .map { try $0.decode(Int.self, column: "version") }
}

/// Migrations that fail if applied twice (plain CREATE TABLE).
/// Sessions of this database waiting for an advisory lock.
private func waitingForAdvisoryLock(_ connection: Connection) async throws -> Int {
    try await connection.query(
        """
        SELECT count(*) AS n FROM pg_locks
        WHERE locktype = 'advisory' AND NOT granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """
    ).first?.decode(Int.self, column: "n") ?? 0
}

private let testMigrations = [
    Migration(version: 1, name: "0001_first.sql", sql: "CREATE TABLE first (x int);"),
    Migration(version: 2, name: "0002_second.sql", sql: "CREATE TABLE second (x int);"),
    Migration(version: 3, name: "0003_third.sql", sql: "CREATE TABLE third (x int); INSERT INTO third VALUES (3);"),
]

extension PostgresTests {
    @Suite struct MigratorTests {
        @Test func migratingTwiceAppliesOnce() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let first = try await Migrator().migrate(connection)
                #expect(first.map(\.version) == Migration.bundled.map(\.version))
                let second = try await Migrator().migrate(connection)
                #expect(second.isEmpty)
                #expect(try await appliedVersions(connection) == Migration.bundled.map(\.version))
                let checksums = try await connection.query("SELECT checksum FROM schema_migrations ORDER BY version")
                    .map { try $0.decode(String.self, column: "checksum") }
                #expect(checksums == Migration.bundled.map(\.checksum))
            }
        }

        /// The test holds the migrators' lock until all four wait for it, so they always
        /// contend for it, however the tasks are scheduled.
        @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
            try await withCluster { cluster in
                var connections: [Connection] = []
                for _ in 0..<4 { connections.append(try await cluster.connect()) }
                let holder = try await cluster.connect()
                try await holder.execute("SELECT pg_advisory_lock($1)", [Migrator.advisoryLockKey])
                let migrator = Migrator(migrations: testMigrations)
                let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                    for connection in connections {
                        group.addTask { try await migrator.migrate(connection).map(\.version) }
                    }
                    do {
                        let deadline = ContinuousClock.now + .seconds(30)
                        while try await waitingForAdvisoryLock(holder) < 4 {
                            try #require(ContinuousClock.now < deadline, "the migrators never all waited for the lock")
                            try await Task.sleep(for: .milliseconds(10))
                        }
                    } catch {
                        try await holder.execute("SELECT pg_advisory_unlock($1)", [Migrator.advisoryLockKey])
                        throw error
                    }
                    try await holder.execute("SELECT pg_advisory_unlock($1)", [Migrator.advisoryLockKey])
                    var all: [Int] = []
                    for try await versions in group { all += versions }
                    return all
                }
                #expect(applied.sorted() == [1, 2, 3])
                #expect(try await appliedVersions(connections[0]) == [1, 2, 3])
                let third = try await connections[0].query("SELECT x FROM third")
                #expect(third.count == 1)
            }
        }

        @Test func editedAppliedMigrationIsAnErrorNamingTheFile() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                try await Migrator(migrations: testMigrations).migrate(connection)
                var edited = testMigrations
                edited[0] = Migration(version: 1, name: "0001_first.sql", sql: "CREATE TABLE first (x bigint);")
                let error = await #expect(throws: DatabaseError.self) {
                    try await Migrator(migrations: edited).migrate(connection)
                }
                #expect(error?.code == "db.migration_checksum")
                #expect(error?.message.contains("migrations/0001_first.sql") == true)
            }
        }

        @Test func unknownAppliedMigrationIsAnError() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                try await Migrator(migrations: testMigrations).migrate(connection)
                let error = await #expect(throws: DatabaseError.self) {
                    try await Migrator(migrations: Array(testMigrations.prefix(2))).migrate(connection)
                }
                #expect(error?.code == "db.migration_unknown")
                #expect(error?.message.contains("0003_third.sql") == true)
            }
        }

        @Test func failingMigrationIsRolledBackAndNamed() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let broken = [
                    testMigrations[0],
                    Migration(version: 2, name: "0002_broken.sql", sql: "CREATE TABLE half (x int); SELECT * FROM no_such_table;"),
                ]
                let error = await #expect(throws: DatabaseError.self) {
                    try await Migrator(migrations: broken).migrate(connection)
                }
                #expect(error?.code == "db.migration")
                #expect(error?.sqlState == "42P01")
                #expect(error?.description.contains("migrations/0002_broken.sql") == true)
                #expect(try await appliedVersions(connection) == [1])
                let half = try await connection.query("SELECT to_regclass('half') IS NULL AS absent")
                #expect(try half.first?.decode(Bool.self, column: "absent") == true)
            }
        }

        @Test func duplicateVersionsAreRejected() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let duplicated = [testMigrations[0], Migration(version: 1, name: "0001_other.sql", sql: "SELECT 1;")]
                let error = await #expect(throws: DatabaseError.self) {
                    try await Migrator(migrations: duplicated).migrate(connection)
                }
                #expect(error?.code == "db.migration")
                #expect(error?.message.contains("0001_other.sql") == true)
            }
        }

        @Test func statusListsPendingAndAppliedMigrations() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.connect()
                let migrator = Migrator(migrations: testMigrations)
                #expect(try await migrator.status(connection).allSatisfy { $0.appliedAt == nil })
                try await Migrator(migrations: Array(testMigrations.prefix(1))).migrate(connection)
                let status = try await migrator.status(connection)
                #expect(status.map(\.version) == [1, 2, 3])
                #expect(status.map { $0.appliedAt != nil } == [true, false, false])
            }
        }

        @Test func bundledMigrationsAreTheFilesInTheMigrationsFolder() throws {
            let folder = URL(fileURLWithPath: #filePath)
                .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("migrations")
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
                .filter { $0.hasSuffix(".sql") }.sorted()
            #expect(!names.isEmpty)
            #expect(Migration.bundled.map(\.name) == names)
            for migration in Migration.bundled {
                let data = try Data(contentsOf: folder.appendingPathComponent(migration.name))
                #expect(Array(migration.sql.utf8) == Array(data), "\(migration.name) differs from the embedded copy")
                #expect(migration.checksum == SHA256.hexDigest(data))
            }
        }
    }
}
