import Foundation
import Testing

extension ServeEndToEnd {
    /// A PyTorch Lightning run folder as Lightning writes it (`fixtures/lightning-tiny`: a
    /// GPT-NeoX in a LightningModule, `lightning_logs/version_0` and `version_1`, each with its
    /// `last.ckpt`), copied into the watched folder while the daemon runs, so every level of it
    /// appears after start.
    @Suite struct Lightning {
        static let fixture = URL(fileURLWithPath: ServeWorkspace.fixtures).deletingLastPathComponent().path + "/lightning-tiny"

        @Test func estimatesEveryNamedCheckpointOfEachVersionAsItsOwnRun() async throws {
            let workspace = try ServeWorkspace(config: ServeConfig(cutoffs: [0.01], preconditioners: ["none", "adam"], directions: 4))
            try await workspace.withServe { daemon in
                try FileManager.default.copyItem(atPath: Self.fixture, toPath: workspace.watchRoot + "/exp")
                let jobs = try await daemon.eventually("the three Lightning checkpoints estimated") {
                    try await daemon.tables.settledJobs(atLeast: 3)
                }
                #expect(jobs.allSatisfy { $0.state == "done" && $0.lastError == nil }, "\(jobs)")
                let checkpoints = workspace.watchRoot + "/exp/lightning_logs"
                #expect(Set(jobs.map(\.checkpointPath)) == [
                    checkpoints + "/version_0/checkpoints/epoch=0-step=3.ckpt",
                    checkpoints + "/version_0/checkpoints/epoch=0-step=6.ckpt",
                    checkpoints + "/version_1/checkpoints/epoch=0-step=3.ckpt",
                ], "\(jobs)")

                let rows = try await daemon.tables.estimates()
                let version0 = "exp/lightning_logs/version_0", version1 = "exp/lightning_logs/version_1"
                #expect(Set(rows.map(\.combination)) == [
                    .init(run: version0, step: 3, cutoff: 0.01, preconditioner: "none"),
                    .init(run: version0, step: 3, cutoff: 0.01, preconditioner: "adam"),
                    .init(run: version0, step: 6, cutoff: 0.01, preconditioner: "none"),
                    .init(run: version0, step: 6, cutoff: 0.01, preconditioner: "adam"),
                    .init(run: version1, step: 3, cutoff: 0.01, preconditioner: "none"),
                    .init(run: version1, step: 3, cutoff: 0.01, preconditioner: "adam"),
                ], "\(rows)")
                #expect(rows.count == 6, "\(rows)")
                for row in rows {
                    if row.run == version1 && row.preconditioner == "adam" {
                        // version_1 was saved with save_weights_only: no optimizer state.
                        #expect(row.skipped == "no optimizer_states in the Lightning checkpoint (saved with save_weights_only)")
                    } else {
                        #expect(row.skipped == nil && (row.logVolume.map { $0.isFinite && $0 < 0 } ?? false), "\(row)")
                    }
                }
            }
        }
    }
}
