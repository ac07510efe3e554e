import DB
import Foundation
import Glibc
import ProcessHarness
import Testing

@testable import Daemon

extension ServeEndToEnd {
    /// A sharded estimate is the estimate: one language-model checkpoint estimated by `volumed
    /// estimate`, by `volumed serve` as one shard, and as 4 shards taken by the workers of two
    /// `volumed serve` processes sharing one database gives the same rows and samples, to the
    /// last bit (not the seconds, timestamps or ids).
    @Suite struct Shards {
        static let config = ServeConfig(cutoffs: [0.01, 0.1], preconditioners: ["none", "adam"], directions: 12, seed: 7)
        static let fixtures = URL(fileURLWithPath: ServeWorkspace.fixtures).deletingLastPathComponent().path + "/neox-tiny"

        @Test func oneShardAndFourShardsOverTwoProcessesMatchEstimate() async throws {
            var whole = Self.config
            whole.shardDirections = 12
            let one = try await Self.serve(whole, processes: 1)
            var sharded = Self.config
            sharded.shardDirections = 3
            let four = try await Self.serve(sharded, processes: 2)

            #expect(one.jobs.count == 1 && one.jobs.allSatisfy { $0.state == "done" }, "\(one.jobs)")
            #expect(four.jobs.count == 4 && four.jobs.allSatisfy { $0.state == "done" }, "\(four.jobs)")
            #expect(four.jobs.map(\.directions) == ["0..<3", "3..<6", "6..<9", "9..<12"], "\(four.jobs)")
            #expect(Set(four.jobs.compactMap(\.process)).count == 2, "both processes took shards: \(four.jobs)")

            let printed = try await MatchesEstimate.estimate(one.path, workspace: one.workspace, config: Self.config)
            #expect(printed.results.allSatisfy { $0.skipped == nil }, "neox-tiny has Adam state")
            for side in [one, four] {
                #expect(side.rows.count == Self.config.preconditioners.count * Self.config.cutoffs.count, "\(side.rows)")
                let samples = Dictionary(grouping: side.samples, by: \.estimateID)
                for result in printed.results {
                    let matching = side.rows.filter { $0.preconditioner == result.preconditioner && $0.cutoff == result.cutoff }
                    let row = try #require(matching.first, "no row for \(result.preconditioner) at \(result.cutoff.map { "\($0)" } ?? "-")")
                    MatchesEstimate.expectSame(row, result)
                    MatchesEstimate.expectSame(samples[row.id] ?? [], result.samples ?? [], of: row)
                }
            }
        }

        static func clientConnections(_ daemon: ServeDaemon) async throws -> Int {
            try await daemon.tables.connection.query(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend'", idempotent: true
            ).first?.decode(Int.self, column: "n") ?? 0
        }

        /// What one side stored.
        struct Side {
            let workspace: ServeWorkspace
            let path: String
            let jobs: [ShardJob]
            let rows: [StoredEstimateRow]
            let samples: [StoredSample]
        }

        struct ShardJob: CustomStringConvertible {
            let state: String
            let directions: String
            /// The process (pid) that held its last lease.
            let process: String?
            var description: String { "\(directions) \(state) by \(process ?? "-")" }
        }

        /// Runs `volumed serve` (and, with `processes: 2`, a `--workers-only` instance on the same
        /// state directory) until the neox-tiny checkpoint is estimated.
        static func serve(_ config: ServeConfig, processes: Int) async throws -> Side {
            let workspace = try ServeWorkspace(config: config)
            return try await workspace.withServe { daemon in
                var helper: VolumedProcess?
                if processes == 2 {
                    let before = try await Self.clientConnections(daemon)
                    helper = try VolumedProcess(
                        ["serve", "--workers-only", "--config", workspace.configPath, "--state-dir", workspace.stateDirectory],
                        environment: ServeDaemon.baseEnvironment, logPath: workspace.folder.url("workers-only.log").path)
                    // Its worker is connected (and a moment later listening) before the checkpoint appears.
                    try await daemon.eventually("the second process connected", timeout: .seconds(30)) {
                        try await Self.clientConnections(daemon) > before ? true : nil
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
                let runPath = try workspace.folder.makeFolder("watch/neox")
                try FileManager.default.copyItem(atPath: Self.fixtures + "/eval_tokens.safetensors", toPath: runPath + "/eval_tokens.safetensors")
                let temporary = runPath + "/tmp-checkpoint-60"
                try FileManager.default.copyItem(atPath: Self.fixtures + "/checkpoint-60", toPath: temporary)
                guard rename(temporary, runPath + "/checkpoint-60") == 0 else { throw HarnessError("rename: \(String(cString: strerror(errno)))") }
                let expected = processes == 2 ? 4 : 1
                _ = try await daemon.eventually("the estimate's \(expected) shard(s) done", timeout: .seconds(240)) {
                    try await daemon.tables.settledJobs(atLeast: expected)
                }
                if let helper {
                    let stopped = await helper.stop()
                    #expect(stopped.termination == .exited(0) && !stopped.killed, "workers-only: \(stopped); log:\n\(helper.logTail)")
                }
                let connection = daemon.tables.connection
                let jobs = try await connection.query(
                    """
                    SELECT state, first_direction, direction_count, split_part(lease_owner, ':', 2) AS process
                    FROM jobs ORDER BY shard
                    """, idempotent: true
                ).map { row in
                    let first = try row.decode(Int.self, column: "first_direction")
                    let count = try row.decode(Int?.self, column: "direction_count")
                    return ShardJob(state: try row.decode(String.self, column: "state"),
                                    directions: "\(first)..<\(count.map { first + $0 }.map(String.init) ?? "k")",
                                    process: try row.decode(String?.self, column: "process"))
                }
                return Side(workspace: workspace, path: runPath + "/checkpoint-60", jobs: jobs,
                            rows: try await StoredEstimateRow.all(connection), samples: try await StoredSample.all(connection))
            }
        }
    }
}
