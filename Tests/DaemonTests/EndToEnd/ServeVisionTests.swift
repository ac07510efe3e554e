import Foundation
import ProcessHarness
import Glibc
import Testing

extension ServeEndToEnd {
    /// A Hugging Face Trainer run of `ConvNextV2ForImageClassification` dropped into the watch
    /// folder with nothing configured beyond `[data] eval`: the model comes from `config.json`,
    /// raw images are preprocessed by the checkpoint's `preprocessor_config.json`, and a bad
    /// image file is a failed job that names the file and the shapes.
    @Suite struct VisionRuns {
        static let vision = URL(fileURLWithPath: ServeWorkspace.fixtures).deletingLastPathComponent().path + "/vision"
        static let config = ServeConfig(cutoffs: [0.01], preconditioners: ["none"], directions: 4)

        /// The run folder `run` with `eval` as its eval file, named by a `volume.toml` of
        /// `[data] eval` alone, and the fixture's `checkpoint-240` (written as the Trainer
        /// writes it: into a temporary folder, then renamed).
        @discardableResult
        static func addRun(_ run: String, workspace: ServeWorkspace, evalName: String, eval: [UInt8]) throws -> String {
            let path = try workspace.folder.makeFolder("watch/\(run)")
            try Data(eval).write(to: URL(fileURLWithPath: path + "/" + evalName))
            try "[data]\neval = \"\(evalName)\"\n".write(toFile: path + "/volume.toml", atomically: true, encoding: .utf8)
            let temporary = path + "/tmp-checkpoint-240"
            try FileManager.default.copyItem(atPath: vision + "/convnextv2-small/checkpoint-240", toPath: temporary)
            guard rename(temporary, path + "/checkpoint-240") == 0 else { throw HarnessError("rename: \(String(cString: strerror(errno)))") }
            return path
        }

        static func bytes(_ name: String) throws -> [UInt8] {
            Array(try Data(contentsOf: URL(fileURLWithPath: vision + "/" + name)))
        }

        /// The fixture's pixel values with the header's shape `[128,3,32,32]` replaced by
        /// `shape` (as long or shorter; the header is padded with spaces, valid JSON).
        static func reshaped(_ shape: String) throws -> [UInt8] {
            var file = try bytes("digits32_eval.safetensors")
            let original = Array("[128,3,32,32]".utf8)
            let replacement = Array(shape.utf8) + Array(repeating: UInt8(ascii: " "), count: original.count - shape.utf8.count)
            let headerEnd = 8 + Int(file[0]) + Int(file[1]) << 8
            guard let at = (8..<headerEnd).first(where: { Array(file[$0..<($0 + original.count)]) == original }) else {
                throw HarnessError("no shape [128,3,32,32] in the fixture's header")
            }
            file.replaceSubrange(at..<(at + original.count), with: replacement)
            return file
        }

        @Test func estimatesAVisionTrainerRunWithOnlyDataEval() async throws {
            let workspace = try ServeWorkspace(config: Self.config)
            try await workspace.withServe { daemon in
                try Self.addRun("convnextv2-small", workspace: workspace, evalName: "digits32_eval.safetensors", eval: try Self.bytes("digits32_eval.safetensors"))
                let jobs = try await daemon.eventually("the ConvNeXt V2 checkpoint estimated", timeout: .seconds(300)) {
                    try await daemon.tables.settledJobs(atLeast: 1)
                }
                #expect(jobs.count == 1 && jobs.allSatisfy { $0.state == "done" && $0.lastError == nil }, "\(jobs)")
                let rows = try await daemon.tables.connection.query("""
                    SELECT log_volume, eval_data->>'form' AS form, (eval_data->>'rows')::int AS rows,
                           (eval_data->>'row_length')::int AS row_length
                    FROM volume_by_step
                    """)
                #expect(rows.count == 1)
                for row in rows {
                    #expect(try row.decode(String.self, column: "form") == "tensors")
                    #expect(try row.decode(Int.self, column: "rows") == 128)
                    #expect(try row.decode(Int.self, column: "row_length") == 32 * 32 * 3)
                    #expect(try row.decode(Double.self, column: "log_volume").isFinite)
                }

                let (status, statusOutput) = try await workspace.run(["status"])
                #expect(status == .exited(0), "\(statusOutput)")
                #expect(statusOutput.contains("1 done, 0 failed"), "\(statusOutput)")
                #expect(statusOutput.split(separator: "\n").contains { $0.hasPrefix("  convnextv2-small") && $0.contains(" none ") }, "\(statusOutput)")
                let (report, reportOutput) = try await workspace.run(["report", "--run", "convnextv2-small"])
                #expect(report == .exited(0), "\(reportOutput)")
                #expect(reportOutput.contains("convnextv2-small") && reportOutput.contains("240"), "\(reportOutput)")
            }
        }

        @Test func badImageFilesAreFailedJobsNamingFileAndShapes() async throws {
            let workspace = try ServeWorkspace(config: Self.config)
            try await workspace.withServe { daemon in
                let whole = try Self.bytes("digits32_eval.safetensors")
                // Cut off in the middle of its pixel values (as by a copy that ran out of space).
                try Self.addRun("truncated", workspace: workspace, evalName: "eval.safetensors", eval: Array(whole.prefix(whole.count / 2)))
                // Flattened images: not [N, C, H, W].
                try Self.addRun("flattened", workspace: workspace, evalName: "eval.safetensors", eval: try Self.reshaped("[128,3,1024]"))
                // Channels last: 32 channels where the model takes 3.
                try Self.addRun("channels-last", workspace: workspace, evalName: "eval.safetensors", eval: try Self.reshaped("[128,32,32,3]"))

                let failed = try await daemon.eventually("the bad image files' jobs failed", timeout: .seconds(120)) { () -> [JobRow]? in
                    let failed = try await daemon.tables.jobs().filter { $0.state == "failed" }
                    return failed.count >= 3 ? failed : nil
                }
                #expect(failed.count == 3, "\(failed)")
                for (run, code, fragments) in [
                    ("truncated", "safetensors.bad_offsets", ["truncated?", "F32 [128, 3, 32, 32]"]),
                    ("flattened", "eval.bad_pixels", ["'pixel_values' has shape [128, 3, 1024]; expected [N, C, H, W]"]),
                    ("channels-last", "eval.channels", ["'pixel_values' [128, 32, 32, 3]", "have 32 channels; this convnextv2 model takes 3 (num_channels)"]),
                ] {
                    let job = try #require(failed.first { $0.run == run }, "\(failed)")
                    #expect(job.attempts == 1, "bad input is not retried: \(job)")
                    #expect(job.errorCode == code, "\(job)")
                    #expect(job.lastError?.contains("\(workspace.watchRoot)/\(run)/eval.safetensors") == true, "\(job)")
                    for fragment in fragments {
                        #expect(job.lastError?.contains(fragment) == true, "\(job)")
                    }
                }

                // Still serving: raw images, preprocessed with the checkpoint's preprocessor_config.json.
                try Self.addRun("raw-images", workspace: workspace, evalName: "eval.safetensors", eval: try Self.bytes("digits32_eval_images.safetensors"))
                let jobs = try await daemon.eventually("the raw-images run estimated", timeout: .seconds(300)) {
                    try await daemon.tables.settledJobs(atLeast: 4)
                }
                let raw = try #require(jobs.first { $0.run == "raw-images" }, "\(jobs)")
                #expect(raw.state == "done" && raw.lastError == nil, "\(raw)")
                let (status, statusOutput) = try await workspace.run(["status"])
                #expect(status == .exited(0), "\(statusOutput)")
                #expect(statusOutput.contains("1 done, 3 failed"), "\(statusOutput)")
            }
        }
    }
}
