import Base
import DB
import Foundation
import ProcessHarness

/// A `ServeWorkspace` whose configuration turns the dashboard on (`[http] listen`) at a free
/// port on 127.0.0.1, with what the dashboard tests ask of the daemon: its pages and
/// metrics over HTTP, and run and checkpoint ids from its database.
final class DashboardWorkspace {
    let workspace: ServeWorkspace
    let port: UInt16

    init(config: ServeConfig) throws {
        workspace = try ServeWorkspace(config: config)
        port = try LoopbackSocket.freePort()
        let text = config.text + "\n[http]\nlisten = \"127.0.0.1:\(port)\"\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: workspace.configPath))
    }

    /// `path` on the dashboard, as a browser opens it.
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    func get(_ path: String) async throws -> HTTPResponse {
        try await LoopbackHTTP.get(port: port, path)
    }

    /// Waits until the dashboard answers `/metrics` with 200 (READY=1 may come before the
    /// HTTP service has bound its port).
    func waitUntilServing(_ daemon: ServeDaemon) async throws {
        try await daemon.eventually("the dashboard answering on 127.0.0.1:\(port)", timeout: .seconds(20)) {
            (try? await self.get("/metrics")).map { $0.status == 200 } == true ? true : nil
        }
    }

    /// The scraped `/metrics` text (fails unless it is 200 and text/plain).
    func metrics() async throws -> String {
        let response = try await get("/metrics")
        guard response.status == 200, response.header("content-type")?.hasPrefix("text/plain") == true else {
            throw HarnessError("GET /metrics: \(response.status) \(response.header("content-type") ?? "no content type")\n\(response.text)")
        }
        return response.text
    }

    /// The id of the run named `name` (the folder name), nil before the daemon has seen it.
    func runID(named name: String, _ daemon: ServeDaemon) async throws -> Int64? {
        try await daemon.tables.connection.query("SELECT id FROM runs WHERE name = $1", [name], idempotent: true)
            .first.map { try $0.decode(Int64.self, column: "id") }
    }

    /// The id of `run`'s checkpoint at `step`, nil before the daemon has registered it.
    func checkpointID(run: Int64, step: Int64, _ daemon: ServeDaemon) async throws -> Int64? {
        try await daemon.tables.connection.query(
            "SELECT id FROM checkpoints WHERE run_id = $1 AND step = $2 ORDER BY id LIMIT 1", [run, step], idempotent: true
        ).first.map { try $0.decode(Int64.self, column: "id") }
    }

    /// Where the dashboard tests write their screenshots: `$VOLUMED_SCREENSHOTS` if set,
    /// else `.build/dashboard-screenshots/` in the repository. Created if missing; printed, so
    /// that a person running the tests finds them.
    static func screenshotFolder() throws -> String {
        let repository = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let folder = ProcessInfo.processInfo.environment["VOLUMED_SCREENSHOTS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? repository.appendingPathComponent(".build/dashboard-screenshots").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        print("dashboard screenshots: \(folder)")
        return folder
    }
}
