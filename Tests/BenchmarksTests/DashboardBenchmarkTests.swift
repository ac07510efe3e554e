import Benchmarks
import DB
import Foundation
import Testing

@Suite struct DashboardBenchmarkTests {
    /// The run page benchmark reads back everything it stored and times every repetition (no
    /// timing thresholds: speed is for the benchmark's reader, not for tests).
    @Test func benchmarkTimesTheRunPageItPopulatedAndLeavesNoTrace() async throws {
        try await withScratchDatabase { database in
            let r = try await DashboardBenchmark.measureRunPage(
                database: database, checkpoints: 30, series: 3, samplesPerEstimate: 5, repetitions: 4)
            #expect(r.checkpoints == 30 && r.series == 3 && r.samplesPerEstimate == 5)
            #expect(r.checkpointRows == 30)
            #expect(r.points == 90)
            #expect(r.pageBytes > 0)
            #expect(r.queryMilliseconds.count == 4 && r.renderMilliseconds.count == 4 && r.totalMilliseconds.count == 4)
            #expect(r.queryMilliseconds.allSatisfy { $0 > 0 && $0.isFinite })
            #expect(r.renderMilliseconds.allSatisfy { $0 >= 0 && $0.isFinite })
            // Together is one span around both parts of the same request.
            for i in 0..<4 {
                #expect(abs(r.totalMilliseconds[i] - (r.queryMilliseconds[i] + r.renderMilliseconds[i])) < 1e-6)
            }
            let connection = try await database.connect()
            #expect(try await leftoverBenchmarkSchemas(connection).isEmpty)
            await connection.close()
        }
    }

    @Test func rejectsNonPositiveSizes() async throws {
        let database = try await Database.open(.server(connectionString: "host=/nonexistent", source: .commandLine))
        let error = await #expect(throws: BenchmarkError.self) {
            try await DashboardBenchmark.measureRunPage(database: database, checkpoints: 10, series: 0)
        }
        #expect(error?.code == "bench.parameter")
    }
}
