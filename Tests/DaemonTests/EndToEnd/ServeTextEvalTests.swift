import Estimator
import Foundation
import ProcessHarness
import Glibc
import Testing

extension ServeEndToEnd {
    /// An HF Trainer run whose eval data is held-out text: the daemon tokenizes it with the
    /// run's `tokenizer.json`, packs it, estimates, and stores what the data was beside the key.
    @Suite struct TextEvalData {
        static let fixtures = URL(fileURLWithPath: ServeWorkspace.fixtures).deletingLastPathComponent().path

        @Test func estimatesARunWhoseEvalDataIsText() async throws {
            let workspace = try ServeWorkspace(config: ServeConfig(cutoffs: [0.01], preconditioners: ["none", "adam"], directions: 4))
            try await workspace.withServe { daemon in
                let runPath = try workspace.folder.makeFolder("watch/neox-text")
                for name in ["tokenizer.json", "eval.jsonl"] {
                    try FileManager.default.copyItem(atPath: "\(Self.fixtures)/text-eval/\(name)", toPath: runPath + "/" + name)
                }
                try "[data]\ntext = \"eval.jsonl\"\nsequence_length = 64\n".write(toFile: runPath + "/volume.toml", atomically: true, encoding: .utf8)
                let temporary = runPath + "/tmp-checkpoint-60"
                try FileManager.default.copyItem(atPath: "\(Self.fixtures)/neox-tiny/checkpoint-60", toPath: temporary)
                guard rename(temporary, runPath + "/checkpoint-60") == 0 else {
                    throw HarnessError("rename: \(String(cString: strerror(errno)))")
                }
                let jobs = try await daemon.eventually("the text-eval checkpoint estimated") {
                    try await daemon.tables.settledJobs(atLeast: 1)
                }
                #expect(jobs.allSatisfy { $0.state == "done" && $0.lastError == nil }, "\(jobs)")

                let rows = try await daemon.tables.connection.query("""
                    SELECT preconditioner, log_volume, eval_fingerprint, eval_data->>'form' AS form,
                           (eval_data->>'rows')::int AS rows, (eval_data->>'row_length')::int AS row_length,
                           (eval_data->>'eos')::int AS eos
                    FROM volume_by_step ORDER BY preconditioner
                    """)
                #expect(try rows.map { try $0.decode(String.self, column: "preconditioner") } == ["adam", "none"])
                let spec = EvalDataSpec(form: .text, file: "eval.jsonl", sequenceLength: 64)
                let fingerprint = try EvalDataSet.fingerprint(
                    spec: spec, runFolder: runPath, checkpoint: try CheckpointFolder(path: runPath + "/checkpoint-60"))
                for row in rows {
                    #expect(try row.decode(String.self, column: "form") == "text")
                    #expect(try row.decode(Int.self, column: "rows") == 5)
                    #expect(try row.decode(Int.self, column: "row_length") == 64)
                    #expect(try row.decode(Int.self, column: "eos") == 2)
                    #expect(try row.decode(String.self, column: "eval_fingerprint") == fingerprint)
                    #expect(try row.decode(Double.self, column: "log_volume").isFinite)
                }
            }
        }
    }
}
