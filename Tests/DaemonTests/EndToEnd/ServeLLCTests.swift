import DB
import Foundation
import Testing

extension ServeEndToEnd {
    /// `[llc]` in a run's `volume.toml`: each new checkpoint of that run gets an LLC job of its
    /// own beside its volume job, and both measures land side by side in `volume_and_llc`.
    @Suite struct LLC {
        static let config = ServeConfig(cutoffs: [0.01, 0.1], preconditioners: ["none"], directions: 8)
        static let llcManifest = "\n[llc]\nenabled = true\nchains = 2\ndraws = 10\n"

        struct Job: CustomStringConvertible {
            let run: String
            let step: Int64?
            let kind: String
            let state: String
            let settingsKey: String
            let measure: String?
            let errorCode: String?
            var description: String { "\(run) step \(step.map(String.init) ?? "-") \(kind) \(state) \(errorCode ?? "")" }
        }

        static func jobs(_ connection: Connection) async throws -> [Job] {
            try await connection.query(
                """
                SELECT r.name AS run, c.step, j.kind, j.state, j.settings_key, j.settings->>'measure' AS measure, j.error_code
                FROM jobs j JOIN checkpoints c ON c.id = j.checkpoint_id JOIN runs r ON r.id = c.run_id
                ORDER BY r.name, c.step, j.kind
                """, idempotent: true
            ).map { row in
                Job(run: try row.decode(String.self, column: "run"), step: try row.decode(Int64?.self, column: "step"),
                    kind: try row.decode(String.self, column: "kind"), state: try row.decode(String.self, column: "state"),
                    settingsKey: try row.decode(String.self, column: "settings_key"),
                    measure: try row.decode(String?.self, column: "measure"),
                    errorCode: try row.decode(String?.self, column: "error_code"))
            }
        }

        /// The jobs once `count` of them are finished (done or failed) and none is active.
        static func finishedJobs(_ connection: Connection, count: Int) async throws -> [Job]? {
            let jobs = try await Self.jobs(connection)
            let finished = jobs.filter { $0.state == "done" || $0.state == "failed" }
            return finished.count >= count && finished.count == jobs.count ? jobs : nil
        }

        @Test func schedulesAnLLCJobOnlyForRunsWithLLCEnabled() async throws {
            let workspace = try ServeWorkspace(config: Self.config)
            let jobs = try await workspace.withServe { daemon in
                try workspace.addRun("digits", extraManifest: Self.llcManifest)
                try workspace.addRun("plain")
                try workspace.addCheckpoint(100, to: "digits")
                try workspace.addCheckpoint(100, to: "plain")
                return try await daemon.eventually("both volume jobs and the LLC job finished", timeout: .seconds(120)) {
                    try await Self.finishedJobs(daemon.tables.connection, count: 3)
                }
            }
            #expect(jobs.map(\.run) == ["digits", "digits", "plain"], "\(jobs)")
            #expect(jobs.map(\.kind) == ["llc", "volume", "volume"], "\(jobs)")
            #expect(jobs.map(\.measure) == ["llc", nil, nil], "\(jobs)")
            #expect(jobs.filter { $0.kind == "volume" }.allSatisfy { $0.state == "done" }, "a volume job never waits on the LLC: \(jobs)")
            #expect(Set(jobs.map(\.settingsKey)).count == 2, "the LLC job has a key of its own: \(jobs)")
            #expect(jobs[0].state == "done", "\(jobs)")
        }

        @Test
        func storesVolumeAndLLCForEveryDroppedCheckpoint() async throws {
            let workspace = try ServeWorkspace(config: Self.config)
            let (jobs, sideBySide, samples) = try await workspace.withServe { daemon in
                try workspace.addRun("digits", extraManifest: Self.llcManifest)
                for step in [0, 100, 3000] { try workspace.addCheckpoint(step, to: "digits") }
                let connection = daemon.tables.connection
                let jobs = try await daemon.eventually("every volume and LLC job finished", timeout: .seconds(180)) {
                    try await Self.finishedJobs(connection, count: 6)
                }
                let rows = try await connection.query(
                    "SELECT step, cutoff, log_volume, llc_mean, llc_chains FROM volume_and_llc ORDER BY step, cutoff", idempotent: true)
                let samples = try await connection.query(
                    "SELECT count(*) AS n FROM llc_samples GROUP BY llc_estimate_id ORDER BY llc_estimate_id", idempotent: true)
                return (jobs, rows, try samples.map { try $0.decode(Int.self, column: "n") })
            }
            #expect(jobs.count == 6 && jobs.allSatisfy { $0.state == "done" }, "\(jobs)")
            #expect(samples == [20, 20, 20], "2 chains × 10 draws each")
            #expect(try sideBySide.map { try $0.decode(Int64.self, column: "step") } == [0, 0, 100, 100, 3000, 3000])
            for row in sideBySide {
                #expect(try row.decode(Double?.self, column: "log_volume")?.isFinite == true)
                #expect(try row.decode(Double?.self, column: "llc_mean")?.isFinite == true)
                #expect(try row.decode(Int?.self, column: "llc_chains") == 2)
            }
        }
    }
}
