import DB
import Foundation
import Testing

@testable import Daemon

extension ServeEndToEnd {
    /// A run whose `volume.toml` asks for a loss neighbourhood over a parameter subset: the
    /// daemon's sharded estimate stores rows keyed by both, bit for bit what `volumed estimate`
    /// prints for the same run.
    @Suite struct Neighbourhoods {
        static let config = ServeConfig(cutoffs: [0.01], preconditioners: ["none", "adam"], directions: 8, seed: 3,
                                        shardDirections: 4)

        @Test func shardedLossSubsetEstimateMatchesEstimate() async throws {
            let workspace = try ServeWorkspace(config: Self.config)
            let (rows, samples, path) = try await workspace.withServe { daemon in
                _ = try workspace.addRun("digits", extraManifest: """

                    [estimate]
                    neighbourhood = "loss"
                    params = ["2.*", "0.bias"]
                    """)
                let path = try workspace.addCheckpoint(3000, to: "digits")
                let jobs = try await daemon.eventually("checkpoint 3000 estimated") {
                    try await daemon.tables.settledJobs(atLeast: 2)
                }
                #expect(jobs.map(\.state) == ["done", "done"], "\(jobs)")
                let connection = daemon.tables.connection
                return (try await StoredEstimateRow.all(connection), try await StoredSample.all(connection), path)
            }
            // The CLI reads the same run's volume.toml, so it estimates the same loss subset.
            let printed = try await MatchesEstimate.estimate(path, workspace: workspace, config: Self.config)
            #expect(printed.neighbourhood == "loss" && printed.params == ["0.bias", "2.*"])
            #expect(rows.count == 2 && rows.allSatisfy { $0.neighbourhood == "loss" && $0.parameterPatterns == "0.bias 2.*" }, "\(rows)")
            let samplesByEstimate = Dictionary(grouping: samples, by: \.estimateID)
            for result in printed.results {
                let row = try #require(rows.first { $0.preconditioner == result.preconditioner && $0.cutoff == result.cutoff })
                MatchesEstimate.expectSame(row, result)
                MatchesEstimate.expectSame(samplesByEstimate[row.id] ?? [], result.samples ?? [], of: row)
            }
        }
    }
}
