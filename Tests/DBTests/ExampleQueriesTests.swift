import Foundation
import Testing
@testable import DB

/// The SQL researchers are shown (README), run against stored results so it keeps working as
/// the schema evolves.
enum ExampleQueries {
    static let volumeByStep = """
        SELECT run, step, log10_volume,
               interval_low / ln(10) AS log10_low, interval_high / ln(10) AS log10_high
        FROM volume_by_step
        WHERE run IN ('run-a', 'run-b') AND cutoff = 1e-2 AND preconditioner = 'adam'
        ORDER BY run, step
        """

    static let changeBetweenCheckpoints = """
        SELECT run, step, log10_volume,
               log10_volume - lag(log10_volume) OVER w AS change_log10_volume,
               step - lag(step) OVER w AS steps_since
        FROM volume_by_step
        WHERE cutoff = 1e-2 AND preconditioner = 'adam'
        WINDOW w AS (PARTITION BY run_id, eval_fingerprint ORDER BY step)
        ORDER BY run, step
        """

    static let runsRankedByFinalVolume = """
        SELECT rank() OVER (ORDER BY final_log10_volume DESC) AS rank,
               run, last_step, final_log10_volume, change_log10_volume
        FROM run_volume_change
        WHERE cutoff = 1e-2 AND preconditioner = 'adam'
        ORDER BY rank, run
        """

    static let samplesOfOneEstimate = """
        SELECT s.direction, s.radius, s.log_estimate, s.kl_evaluations
        FROM latest_estimates e
        JOIN estimate_samples s ON s.estimate_id = e.estimate_id
        WHERE e.run = 'run-a' AND e.step = 300 AND e.cutoff = 1e-2 AND e.preconditioner = 'adam'
        ORDER BY s.direction
        """

    static let skippedPreconditioners = """
        SELECT r.name AS run, c.step, e.preconditioner, e.skipped
        FROM estimates e
        JOIN checkpoints c ON c.id = e.checkpoint_id
        JOIN runs r ON r.id = c.run_id
        WHERE e.skipped IS NOT NULL
        ORDER BY run, step
        """

    static let failedJobs = """
        SELECT job_id, run, step, attempts, error_code, last_error
        FROM job_overview
        WHERE state = 'failed'
        ORDER BY updated_at DESC
        """
}

extension PostgresTests {
    @Suite struct ExampleQueriesTests {
        /// run-a keeps its volume better than run-b; step 0 of run-a has no optimizer state.
        private func storeResults(_ connection: Connection) async throws {
            let store = ResultStore(connection: connection)
            let queue = JobQueue(connection: connection)
            let nats: [(run: String, step: Int64, adam: Double)] = [
                ("run-a", 0, -500), ("run-a", 100, -520), ("run-a", 300, -530),
                ("run-b", 0, -500), ("run-b", 100, -560), ("run-b", 300, -610),
            ]
            for entry in nats {
                let checkpoint = try await Records.checkpoint(store, run: entry.run, step: entry.step, fingerprint: "fp-\(entry.step)")
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let job = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                var estimates = [
                    Records.computed(logVolume: entry.adam - 100),
                    Records.computed(cutoff: 0.1, preconditioner: "adam", logVolume: entry.adam + 50),
                ]
                if entry.run == "run-a", entry.step == 0 {
                    estimates.append(Records.skipped(preconditioner: "adam", params: ""))
                } else {
                    estimates.append(Records.computed(preconditioner: "adam", logVolume: entry.adam))
                }
                try await queue.complete(job, estimates: estimates)
            }
            let broken = try await Records.checkpoint(store, run: "run-b", step: 400, fingerprint: "broken")
            _ = try await queue.enqueue(checkpointID: broken.id, settings: Records.settings(), settingsKey: "k1", maxAttempts: 1)
            let job = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
            try await queue.fail(job, code: "safetensors.truncated", message: "model.safetensors: file ends at byte 812 of 4096")
        }

        @Test func researcherQueriesAnswerTheirQuestions() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                try await storeResults(connection)
                let ln10 = log(10.0)

                let series = try await connection.query(ExampleQueries.volumeByStep)
                #expect(try series.map { "\(try $0.decode(String.self, column: "run"))@\(try $0.decode(Int.self, column: "step"))" }
                    == ["run-a@100", "run-a@300", "run-b@0", "run-b@100", "run-b@300"])
                #expect(try abs(series[0].decode(Double.self, column: "log10_volume") - (-520 / ln10)) < 1e-9)

                let changes = try await connection.query(ExampleQueries.changeBetweenCheckpoints)
                let runB = try changes.filter { try $0.decode(String.self, column: "run") == "run-b" }
                #expect(try runB.map { try $0.decode(Double?.self, column: "change_log10_volume").map { ($0 * ln10).rounded() } }
                    == [nil, -60, -50])
                #expect(try runB.map { try $0.decode(Int?.self, column: "steps_since") } == [nil, 100, 200])

                let ranked = try await connection.query(ExampleQueries.runsRankedByFinalVolume)
                #expect(try ranked.map { try $0.decode(String.self, column: "run") } == ["run-a", "run-b"])
                #expect(try ranked.map { try $0.decode(Int.self, column: "last_step") } == [300, 300])

                let samples = try await connection.query(ExampleQueries.samplesOfOneEstimate)
                #expect(try samples.map { try $0.decode(Int.self, column: "direction") } == [0, 1, 2])
                #expect(try samples.map { try $0.decode(Double.self, column: "radius") } == [0.5, 0.25, 1e-300])

                let skipped = try await connection.query(ExampleQueries.skippedPreconditioners)
                #expect(skipped.count == 1)
                #expect(try skipped.first?.decode(String.self, column: "skipped") == "no optimizer state (optimizer.pt missing)")

                let failed = try await connection.query(ExampleQueries.failedJobs)
                #expect(try failed.map { try $0.decode(String.self, column: "error_code") } == ["safetensors.truncated"])
            }
        }
    }
}
