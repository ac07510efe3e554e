import Foundation
import Testing
@testable import DB

/// A private PostgreSQL cluster for one test, in its own temporary state directory: created,
/// started, migrated, handed to the test, and always stopped and deleted afterwards, whether
/// the test passes or throws. Each test gets its own, so tests run in parallel safely.
struct TestCluster {
    let stateDirectory: String
    let database: Database
    var cluster: EmbeddedPostgres { database.embedded! }

    static let options = EmbeddedPostgres.Options(
        durable: false,
        settings: ["shared_buffers": "16MB", "max_connections": "40"]
    )

    /// Reconnect quickly in tests: the server restarts within a second.
    static let connectionOptions = ConnectionOptions(
        reconnect: ReconnectPolicy(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(500), giveUpAfter: .seconds(30))
    )

    func connect() async throws -> Connection {
        try await database.connect()
    }

    /// A connection with the schema migrated.
    func migratedConnection() async throws -> Connection {
        let connection = try await connect()
        try await Migrator().migrate(connection)
        return connection
    }
}

/// A fresh state directory that the unprivileged cluster user can enter.
func makeStateDirectory() throws -> String {
    let template = NSTemporaryDirectory() + "/volumed-db-test-XXXXXX"
    var bytes = Array(template.utf8CString)
    guard let created = mkdtemp(&bytes) else { throw POSIXError(.EIO) }
    let path = String(cString: created)
    chmod(path, 0o755)
    return path
}

func removeStateDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

func withCluster<T>(
    options: EmbeddedPostgres.Options = TestCluster.options,
    _ body: (TestCluster) async throws -> T
) async throws -> T {
    let stateDirectory = try makeStateDirectory()
    defer { removeStateDirectory(stateDirectory) }
    let database = try await Database.open(
        .embedded(stateDirectory: stateDirectory),
        embeddedOptions: options,
        connectionOptions: TestCluster.connectionOptions
    )
    let cluster = TestCluster(stateDirectory: stateDirectory, database: database)
    do {
        let result = try await body(cluster)
        try await database.close()
        return result
    } catch {
        _ = try? await database.close()
        throw error
    }
}
