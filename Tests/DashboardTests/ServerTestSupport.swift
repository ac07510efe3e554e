import Dashboard
import FlyingSocks
import Foundation
import Logging
import ServiceLifecycle
import Testing
@testable import DB

/// The server suites share one embedded PostgreSQL; each test gets a database of its own in it.
@Suite(.serverCluster) struct ServerTests {}

struct ServerCluster: SuiteTrait, TestScoping {
    @TaskLocal static var current: EmbeddedPostgres?

    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("volumed-dashboard-test-XXXXXX")
        var bytes = Array(template.utf8CString)
        guard let created = mkdtemp(&bytes) else { throw POSIXError(.EIO) }
        let stateDirectory = String(cString: created)
        chmod(stateDirectory, 0o755)
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let cluster = EmbeddedPostgres(stateDirectory: stateDirectory, options: .init(durable: false, settings: ["shared_buffers": "16MB"]))
        do {
            _ = try await cluster.start()
            try await Self.$current.withValue(cluster) { try await function() }
        } catch {
            _ = try? await cluster.stop()
            throw error
        }
        _ = try await cluster.stop()
    }
}

extension Trait where Self == ServerCluster {
    static var serverCluster: ServerCluster { ServerCluster() }
}

/// A running dashboard on a fresh, migrated database (a port of its own on 127.0.0.1).
struct TestDashboard: Sendable {
    let port: UInt16
    let metrics: DaemonMetrics
    let service: DashboardService
    let connectionString: String

    static let reconnectQuickly = ReconnectPolicy(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(200), giveUpAfter: .seconds(30))

    func connect() async throws -> Connection {
        try await Connection.connect(to: connectionString, options: ConnectionOptions(reconnect: Self.reconnectQuickly))
    }

    /// Starts the dashboard in a service group, runs `body`, then shuts it down gracefully.
    static func run(limits: DashboardLimits = DashboardLimits(), _ body: (TestDashboard, ServiceGroup) async throws -> Void) async throws {
        let cluster = try #require(ServerCluster.current, "run inside a suite marked .serverCluster")
        let name = "test_\(UInt64.random(in: 0...UInt64.max))"
        let admin = try await Connection.connect(to: cluster.layout.connectionString(database: "postgres"))
        try await admin.execute("CREATE DATABASE \(name)")
        await admin.close()
        let connectionString = cluster.layout.connectionString(database: name)
        let migrating = try await Connection.connect(to: connectionString)
        try await Migrator().migrate(migrating)
        await migrating.close()

        let logger = Logger(label: "dashboard-test")
        let metrics = DaemonMetrics(version: "9.9.9-test")
        let service = try DashboardService(
            host: "127.0.0.1", port: 0, ipv6: false, limits: limits, metrics: metrics, logger: logger,
            connect: { options in
                var options = options
                options.reconnect = reconnectQuickly
                return try await Connection.connect(to: connectionString, options: options)
            })
        let group = ServiceGroup(configuration: .init(services: [.init(service: service)], logger: logger))
        let running = Task { try await group.run() }
        let dashboard = TestDashboard(port: service.server.port, metrics: metrics, service: service, connectionString: connectionString)
        do {
            try await body(dashboard, group)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// Waits until the dashboard's listener has issued its `LISTEN` (notifications sent before are not seen).
    func waitForListener() async throws {
        let admin = try await connect()
        try await waitUntilAsync {
            try await admin.query("""
                SELECT 1 FROM pg_stat_activity
                WHERE application_name = 'volumed-dashboard' AND query LIKE 'LISTEN%' AND datname = current_database()
                """).count == 1
        }
        await admin.close()
    }

    /// A run with one checkpoint (step 100).
    func seedRun(name: String = "run-a") async throws -> (run: RunRecord, checkpoint: CheckpointRecord) {
        let connection = try await connect()
        let store = ResultStore(connection: connection)
        let run = try await store.upsertRun(name: name, path: "/watch/\(name)")
        let (checkpoint, _) = try await store.upsertCheckpoint(runID: run.id, step: 100, path: "/watch/\(name)/checkpoint-100",
                                                               fingerprint: "fp-\(name)-100")
        await connection.close()
        return (run, checkpoint)
    }
}

/// A response as a raw-socket client sees it.
struct TestResponse {
    var status: Int
    /// Lower-case names.
    var headers: [String: String]
    var body: String
}

/// A small HTTP/1.1 client on FlyingSocks' non-blocking sockets (so tests never block the
/// cooperative threads the server runs on).
struct TestClient {
    let socket: AsyncSocket

    static func connect(port: UInt16) async throws -> TestClient {
        TestClient(socket: try await AsyncSocket.connected(to: sockaddr_in.inet(ip4: "127.0.0.1", port: port)))
    }

    func send(_ text: String) async throws {
        try await socket.write(Data(text.utf8))
    }

    /// Reads until the server closes the connection (or `timeout`).
    func readToEnd(timeout: Duration = .seconds(10)) async throws -> String {
        try await read(timeout: timeout) { _ in false }
    }

    /// Reads until `done` holds for what arrived, the server closes, or `timeout` passes.
    func read(timeout: Duration = .seconds(10), until done: @escaping @Sendable (String) -> Bool) async throws -> String {
        try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { [socket] in
                var bytes: [UInt8] = []
                while true {
                    do {
                        bytes += try await socket.read(atMost: 4096)
                    } catch SocketError.disconnected {
                        return String(decoding: bytes, as: UTF8.self)
                    }
                    let text = String(decoding: bytes, as: UTF8.self)
                    if done(text) { return text }
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            guard let text = first else { throw TestTimeout() }
            return text
        }
    }

    func close() {
        try? socket.close()
    }

    /// One request on a new connection that the server closes after answering.
    static func request(_ path: String, method: String = "GET", port: UInt16, headers: [String] = []) async throws -> TestResponse {
        let client = try await connect(port: port)
        defer { client.close() }
        try await client.send("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                              + headers.map { $0 + "\r\n" }.joined() + "\r\n")
        return try parse(try await client.readToEnd())
    }

    static func parse(_ text: String) throws -> TestResponse {
        guard let split = text.range(of: "\r\n\r\n") else { throw ResponseError(text: text) }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0] == "HTTP/1.1", let status = Int(statusParts[1]) else {
            throw ResponseError(text: text)
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw ResponseError(text: text) }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return TestResponse(status: status, headers: headers, body: String(text[split.upperBound...]))
    }

    struct TestTimeout: Error {}

    struct ResponseError: Error, CustomStringConvertible {
        var text: String
        var description: String { "not an HTTP response: \(text.prefix(300))" }
    }
}
