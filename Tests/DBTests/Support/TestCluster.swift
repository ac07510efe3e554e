import Foundation
import Testing
@testable import DB

/// A database for one test: its own cluster, or (inside a suite marked `.sharedCluster`) its
/// own database in the suite's cluster, so tests run in parallel without seeing each other's
/// rows while the machine starts only a few servers.
struct TestCluster {
    /// The server the database lives in.
    let cluster: EmbeddedPostgres
    let connectionString: String

    static let options = EmbeddedPostgres.Options(
        durable: false,
        settings: ["shared_buffers": "16MB", "max_connections": "100"]
    )

    /// Reconnect quickly in tests: the server restarts within a second.
    static let connectionOptions = ConnectionOptions(
        reconnect: ReconnectPolicy(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(500), giveUpAfter: .seconds(30))
    )

    func connect() async throws -> Connection {
        try await Connection.connect(to: connectionString, options: Self.connectionOptions)
    }

    /// A connection with the schema migrated.
    func migratedConnection() async throws -> Connection {
        let connection = try await connect()
        try await Migrator().migrate(connection)
        return connection
    }
}

/// The suites that only need a database (`extension PostgresTests { @Suite struct … }`)
/// share one cluster; each of their tests gets its own database in it.
@Suite(.sharedCluster) struct PostgresTests {}

/// Starts one cluster for a whole suite (tests get their own databases in it) and always stops
/// it when the suite ends, whether its tests pass or fail.
struct SharedCluster: SuiteTrait, TestScoping {
    @TaskLocal static var current: EmbeddedPostgres?

    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let stateDirectory = try makeStateDirectory()
        defer { removeStateDirectory(stateDirectory) }
        let cluster = EmbeddedPostgres(stateDirectory: stateDirectory, options: TestCluster.options)
        do {
            try await cluster.start()
            try await Self.$current.withValue(cluster) { try await function() }
        } catch {
            _ = try? await cluster.stop()
            throw error
        }
        try await cluster.stop()
    }
}

extension Trait where Self == SharedCluster {
    static var sharedCluster: SharedCluster { SharedCluster() }
}

/// A fresh state directory that the unprivileged cluster user can enter.
func makeStateDirectory() throws -> String {
    let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("volumed-db-test-XXXXXX")
    var bytes = Array(template.utf8CString)
    guard let created = mkdtemp(&bytes) else { throw POSIXError(.EIO) }
    let path = String(cString: created)
    chmod(path, 0o755)
    return path
}

func removeStateDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// Runs `body` with a database of its own: a new database in the suite's shared cluster when
/// there is one (and neither `options` nor `ownCluster` ask otherwise), else a new cluster that
/// is stopped and deleted afterwards, whether `body` passes or throws.
func withCluster<T>(
    options: EmbeddedPostgres.Options = TestCluster.options,
    ownCluster: Bool = false,
    _ body: (TestCluster) async throws -> T
) async throws -> T {
    if let shared = SharedCluster.current, !ownCluster, options.password == nil {
        let name = "test_\(UInt64.random(in: 0...UInt64.max))"
        let admin = try await Connection.connect(to: shared.layout.connectionString(database: "postgres"))
        try await admin.execute("CREATE DATABASE \(name)")
        await admin.close()
        return try await body(TestCluster(cluster: shared, connectionString: shared.layout.connectionString(database: name)))
    }
    let stateDirectory = try makeStateDirectory()
    defer { removeStateDirectory(stateDirectory) }
    let cluster = EmbeddedPostgres(stateDirectory: stateDirectory, options: options)
    do {
        try await cluster.start()
        let result = try await body(TestCluster(cluster: cluster, connectionString: cluster.connectionString))
        try await cluster.stop()
        return result
    } catch {
        _ = try? await cluster.stop()
        throw error
    }
}
