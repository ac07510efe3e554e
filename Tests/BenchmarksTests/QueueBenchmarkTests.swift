import Benchmarks
import DB
import Foundation
import Testing

@Suite struct QueueBenchmarkTests {
    @Test func benchmarkCompletesEveryJobAndLeavesNoTrace() async throws {
        try await withScratchDatabase { database in
            let result = try await QueueBenchmark.measureThroughput(database: database, workers: 4, jobs: 40, samplesPerEstimate: 10)
            #expect(result.jobs == 40)
            #expect(result.workers == 4)
            #expect(result.claimsPerSecond > 0)
            let connection = try await database.connect()
            #expect(try await leftoverBenchmarkSchemas(connection).isEmpty)
            let tables = try await connection.query("SELECT to_regclass('public.jobs') IS NULL AS absent")
            #expect(try tables.first?.decode(Bool.self, column: "absent") == true)
            await connection.close()
        }
    }

    @Test func rejectsNonPositiveSizes() async throws {
        let database = try await Database.open(.server(connectionString: "host=/nonexistent", source: .commandLine))
        let error = await #expect(throws: BenchmarkError.self) {
            try await QueueBenchmark.measureThroughput(database: database, workers: 0, jobs: 10)
        }
        #expect(error?.code == "bench.parameter")
    }
}
