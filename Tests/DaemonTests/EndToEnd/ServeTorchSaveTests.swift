import Foundation
import Testing

extension ServeEndToEnd {
    /// Run folders as a plain PyTorch loop and Accelerate leave them: `step-N.pt` state dicts
    /// (bare, through DDP, through `torch.compile`) beside the run's `config.json`, and
    /// Accelerate `save_state` folders `checkpoint_<n>` (weights + `optimizer.bin`) in the run
    /// folder. The daemon estimates every one at its step; Adam runs where there is an
    /// optimizer state and is skipped, with the reason, for the single files.
    @Suite struct TorchSaveRuns {
        static let fixtures = URL(fileURLWithPath: ServeWorkspace.fixtures).deletingLastPathComponent().path

        @Test func estimatesTorchSaveFilesAndAccelerateFolders() async throws {
            let workspace = try ServeWorkspace(config: ServeConfig(cutoffs: [0.01], preconditioners: ["none", "adam"], directions: 4))
            let manager = FileManager.default
            try await workspace.withServe { daemon in
                let plain = try workspace.folder.makeFolder("watch/torchsave-tiny")
                for name in ["config.json", "eval_tokens.safetensors", "step-10.pt", "step-20.pt", "step-30.pt", "step-40.pt"] {
                    try manager.copyItem(atPath: "\(Self.fixtures)/torchsave-tiny/\(name)", toPath: plain + "/" + name)
                }
                let accelerate = try workspace.folder.makeFolder("watch/accelerate-tiny")
                for name in ["config.json", "eval_tokens.safetensors"] {
                    try manager.copyItem(atPath: "\(Self.fixtures)/accelerate-tiny/\(name)", toPath: accelerate + "/" + name)
                }
                for n in 0...2 {
                    try manager.copyItem(atPath: "\(Self.fixtures)/accelerate-tiny/checkpoints/checkpoint_\(n)",
                                         toPath: accelerate + "/checkpoint_\(n)")
                }

                let jobs = try await daemon.eventually("four torch.save files and three Accelerate folders estimated", timeout: .seconds(120)) {
                    try await daemon.tables.settledJobs(atLeast: 7)
                }
                #expect(jobs.count == 7, "\(jobs)")
                #expect(jobs.allSatisfy { $0.state == "done" && $0.lastError == nil }, "\(jobs)")
                let rows = try await daemon.tables.estimates()
                #expect(rows.count == 14, "\(rows)")
                let combinations = Set(rows.map(\.combination))
                for (run, steps) in [("torchsave-tiny", [10, 20, 30, 40]), ("accelerate-tiny", [0, 1, 2])] {
                    for step in steps {
                        for preconditioner in ["none", "adam"] {
                            #expect(combinations.contains(.init(run: run, step: Int64(step), cutoff: 0.01, preconditioner: preconditioner)), "\(rows)")
                        }
                    }
                }
                for row in rows {
                    if row.run == "torchsave-tiny" && row.preconditioner == "adam" {
                        #expect(row.skipped == "a single-file checkpoint holds no optimizer state", "\(row)")
                    } else {
                        #expect(row.skipped == nil && (row.logVolume.map { $0.isFinite && $0 < 0 } ?? false), "\(row)")
                    }
                }
            }
        }
    }
}
