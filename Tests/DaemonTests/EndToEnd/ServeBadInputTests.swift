import Foundation
import Glibc
import Testing

extension ServeEndToEnd {
    /// Bad input is normal input: each bad thing in the watch folder becomes a failed job with
    /// its error or a logged warning, and the daemon keeps serving.
    @Suite struct BadInput {
        /// Runs as `nobody` (like the packaged unit's `DynamicUser=`), so that permissions
        /// apply: root would read the locked folders anyway.
        @Test func failsOrSkipsEachBadInputVisiblyAndKeepsServing() async throws {
            let workspace = try ServeWorkspace(user: .nobody)
            let root = workspace.watchRoot
            // Present at start-up: a symbolic link loop, a FIFO and a run nobody may read.
            try workspace.folder.symlink("watch/loop", to: "loop")
            #expect(mkfifo(root + "/fifo", 0o644) == 0)
            try workspace.addRun("locked")
            try workspace.addCheckpoint(100, to: "locked")
            #expect(chmod(root + "/locked", 0o000) == 0)

            try await workspace.withServe(as: .nobody) { daemon in
                try workspace.addRun("digits")
                // Cut off in the middle of its tensor data (as by a copy that ran out of space).
                try workspace.addEditedCheckpoint(100, to: "digits", as: 100) { folder in
                    let weights = URL(fileURLWithPath: folder + "/model.safetensors")
                    try Data(try Data(contentsOf: weights).prefix(9000)).write(to: weights)
                }
                // Weights nobody may read.
                try workspace.addEditedCheckpoint(100, to: "digits", as: 200) { folder in
                    #expect(chmod(folder + "/model.safetensors", 0o000) == 0)
                }
                // A checkpoint folder nobody may enter.
                try workspace.addEditedCheckpoint(100, to: "digits", as: 300) { folder in
                    #expect(chmod(folder, 0o000) == 0)
                }
                // Named like a checkpoint folder, but a FIFO.
                #expect(mkfifo(root + "/digits/checkpoint-400", 0o644) == 0)
                // A run that does not say what model it is: no volume.toml, no config.json.
                try workspace.addRun("anonymous", manifest: false, evalName: "eval.safetensors")
                try workspace.addCheckpoint(100, to: "anonymous")

                let failed = try await daemon.eventually("the bad checkpoints' jobs failed") { () -> [JobRow]? in
                    let failed = try await daemon.tables.jobs().filter { $0.state == "failed" }
                    return failed.count >= 3 ? failed : nil
                }
                #expect(failed.count == 3, "\(failed)")
                for job in failed {
                    #expect(job.attempts == 1, "bad input is not retried: \(job)")
                    #expect(job.errorCode?.isEmpty == false, "\(job)")
                }
                let truncation = try #require(failed.first { $0.run == "digits" && $0.step == 100 })
                #expect(truncation.errorCode?.hasPrefix("safetensors.") == true, "\(truncation)")
                #expect(truncation.lastError?.contains("model.safetensors") == true, "\(truncation)")
                let permission = try #require(failed.first { $0.run == "digits" && $0.step == 200 })
                #expect(permission.errorCode == "file.permission_denied", "\(permission)")
                #expect(permission.lastError?.contains("model.safetensors") == true, "\(permission)")
                #expect(permission.lastError?.contains("Permission denied") == true, "\(permission)")
                let anonymous = try #require(failed.first { $0.run == "anonymous" })
                #expect(anonymous.errorCode == "model.unknown_architecture", "\(anonymous)")
                #expect(anonymous.lastError?.contains("volume.toml") == true, "\(anonymous)")
                #expect(anonymous.lastError?.contains("config.json") == true, "\(anonymous)")

                // Still serving: a good checkpoint after all that is estimated.
                try workspace.addCheckpoint(0, to: "digits")
                let jobs = try await daemon.eventually("checkpoint 0 estimated") { try await daemon.tables.settledJobs(atLeast: 4) }
                #expect(jobs.count == 4, "only the three bad checkpoints and the good one make jobs: \(jobs)")
                #expect(jobs.last.map { $0.step == 0 && $0.state == "done" } == true, "\(jobs)")
                #expect(try await daemon.tables.estimates().filter { $0.step == 0 }.count == 4)

                let warnings = daemon.log.split(separator: "\n").filter { $0.contains(" warning ") }
                for fragment in [
                    "\(root)/loop is a symbolic link loop",
                    "cannot read \(root)/locked",
                    "\(root)/digits/checkpoint-300",
                    "\(root)/digits/checkpoint-400 is named like a checkpoint folder but is not a folder",
                ] {
                    #expect(warnings.contains { $0.contains(fragment) }, "no warning about \(fragment); log:\n\(daemon.log)")
                }
            }
        }
    }
}
