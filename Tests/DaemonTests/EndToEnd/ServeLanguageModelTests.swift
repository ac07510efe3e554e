import Foundation
import ProcessHarness
import Glibc
import Testing

extension ServeEndToEnd {
    /// The Hugging Face Trainer's language-model runs, dropped in as the Trainer writes them
    /// (every file of the checkpoint folder, `tmp-checkpoint-N` renamed into place): the daemon
    /// reads `config.json`, `model.safetensors`, `optimizer.pt` and `eval_tokens.safetensors`,
    /// and ignores `training_args.bin`, `rng_state.pth` and the rest.
    @Suite struct LanguageModels {
        static let fixtures = URL(fileURLWithPath: ServeWorkspace.fixtures).deletingLastPathComponent().path
        static let runs = [("neox-tiny", 30), ("gpt2-tiny", 150), ("llama-tiny", 150)]

        @Test func estimatesEveryArchitectureFromTrainerOutput() async throws {
            let workspace = try ServeWorkspace(config: ServeConfig(cutoffs: [0.01], preconditioners: ["none", "adam"], directions: 4))
            try await workspace.withServe { daemon in
                for (run, step) in Self.runs {
                    let runPath = try workspace.folder.makeFolder("watch/\(run)")
                    try FileManager.default.copyItem(atPath: "\(Self.fixtures)/\(run)/eval_tokens.safetensors",
                                                     toPath: runPath + "/eval_tokens.safetensors")
                    let temporary = runPath + "/tmp-checkpoint-\(step)"
                    try FileManager.default.copyItem(atPath: "\(Self.fixtures)/\(run)/checkpoint-\(step)", toPath: temporary)
                    guard rename(temporary, runPath + "/checkpoint-\(step)") == 0 else {
                        throw HarnessError("rename: \(String(cString: strerror(errno)))")
                    }
                }
                let jobs = try await daemon.eventually("the three language-model checkpoints estimated") {
                    try await daemon.tables.settledJobs(atLeast: Self.runs.count)
                }
                #expect(jobs.allSatisfy { $0.state == "done" && $0.lastError == nil }, "\(jobs)")
                let rows = try await daemon.tables.estimates()
                let combinations = Set(rows.map(\.combination))
                for (run, step) in Self.runs {
                    for preconditioner in ["none", "adam"] {
                        #expect(combinations.contains(.init(run: run, step: Int64(step), cutoff: 0.01, preconditioner: preconditioner)), "\(rows)")
                    }
                }
                #expect(rows.count == Self.runs.count * 2, "\(rows)")
                #expect(rows.allSatisfy { $0.skipped == nil && ($0.logVolume.map { $0.isFinite && $0 < 0 } ?? false) }, "\(rows)")
            }
        }
    }
}
