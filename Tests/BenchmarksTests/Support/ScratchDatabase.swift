import DB
import Foundation

/// Runs `body` on a fresh embedded cluster (not durable: nothing here needs to survive a
/// crash), closed afterwards whether `body` returns or throws.
func withScratchDatabase(_ body: (Database) async throws -> Void) async throws {
    let state = try temporaryStateDirectory()
    defer { try? FileManager.default.removeItem(atPath: state) }
    let database = try await Database.open(.embedded(stateDirectory: state), embeddedOptions: .init(durable: false))
    do {
        try await body(database)
    } catch {
        try? await database.close()
        throw error
    }
    try await database.close()
}

/// The benchmarks' scratch schemas still in the database; each benchmark drops its own.
func leftoverBenchmarkSchemas(_ connection: Connection) async throws -> [String] {
    try await connection.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'volumed_bench%'")
        .map { try $0.decode(String.self, column: "nspname") }
}

/// A fresh state directory for an embedded cluster, that the unprivileged cluster user can enter.
private func temporaryStateDirectory() throws -> String {
    let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("volumed-bench-test-XXXXXX")
    var bytes = Array(template.utf8CString)
    guard let created = mkdtemp(&bytes) else { throw POSIXError(.EIO) }
    let path = String(cString: created)
    chmod(path, 0o755)
    return path
}
