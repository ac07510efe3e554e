import Testing
@testable import DB

extension PostgresTests {
    @Suite struct QueueBenchmarkTests {
        @Test func benchmarkCompletesEveryJobAndLeavesNoTrace() async throws {
            try await withCluster { cluster in
                let database = try await Database.open(.server(connectionString: cluster.connectionString, source: .commandLine))
                let result = try await QueueBenchmark.measureThroughput(database: database, workers: 4, jobs: 40, samplesPerEstimate: 10)
                #expect(result.jobs == 40)
                #expect(result.workers == 4)
                #expect(result.claimsPerSecond > 0)
                let connection = try await cluster.connect()
                let schemas = try await connection.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'volumed_bench%'")
                #expect(schemas.isEmpty)
                let tables = try await connection.query("SELECT to_regclass('public.jobs') IS NULL AS absent")
                #expect(try tables.first?.decode(Bool.self, column: "absent") == true)
            }
        }

        @Test func rejectsNonPositiveSizes() async throws {
            let database = try await Database.open(.server(connectionString: "host=/nonexistent", source: .commandLine))
            let error = await #expect(throws: DatabaseError.self) {
                try await QueueBenchmark.measureThroughput(database: database, workers: 0, jobs: 10)
            }
            #expect(error?.code == "db.parameter")
        }
    }
}
