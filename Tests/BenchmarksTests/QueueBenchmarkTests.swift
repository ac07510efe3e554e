import Benchmarks
import DB
import Foundation
import Testing

@Suite struct QueueBenchmarkTests {
    @Test func benchmarkCompletesEveryJobAndLeavesNoTrace() async throws {
        let state = try temporaryStateDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        let database = try await Database.open(.embedded(stateDirectory: state), embeddedOptions: .init(durable: false))
        do {
            let result = try await QueueBenchmark.measureThroughput(database: database, workers: 4, jobs: 40, samplesPerEstimate: 10)
            #expect(result.jobs == 40)
            #expect(result.workers == 4)
            #expect(result.claimsPerSecond > 0)
            let connection = try await database.connect()
            let schemas = try await connection.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'volumed_bench%'")
            #expect(schemas.isEmpty)
            let tables = try await connection.query("SELECT to_regclass('public.jobs') IS NULL AS absent")
            #expect(try tables.first?.decode(Bool.self, column: "absent") == true)
            await connection.close()
        } catch {
            try? await database.close()
            throw error
        }
        try await database.close()
    }

    @Test func rejectsNonPositiveSizes() async throws {
        let database = try await Database.open(.server(connectionString: "host=/nonexistent", source: .commandLine))
        let error = await #expect(throws: BenchmarkError.self) {
            try await QueueBenchmark.measureThroughput(database: database, workers: 0, jobs: 10)
        }
        #expect(error?.code == "bench.parameter")
    }
}
