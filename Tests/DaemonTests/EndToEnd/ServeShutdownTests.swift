import Base
import Foundation
import ProcessHarness
import Glibc
import Testing

extension ServeEndToEnd {
    /// SIGTERM (`systemctl stop`) in the middle of an estimate.
    @Suite struct Shutdown {
        /// How long the interrupted estimate should take: long enough to be seen running (a few
        /// polls), short enough to finish soon after the restart.
        static let longEstimate = 5.0

        @Test func sigtermReturnsTheRunningJobAndARestartCompletesIt() async throws {
            let workspace = try ServeWorkspace(config: ServeConfig(cutoffs: [0.01], preconditioners: ["none"], directions: 20))
            let steps = [3000, 4000]
            let (running, waiting) = try await workspace.withServe { daemon in
                // Estimates run about a hundred times slower in a debug build than in a release
                // build: time a short one here and size the long ones from it.
                try workspace.addRun("calibration")
                try workspace.addCheckpoint(3000, to: "calibration")
                let calibration = try await daemon.eventually("the calibration estimate") {
                    try await daemon.tables.estimates().first?.seconds
                }
                let directions = min(max(Int(Self.longEstimate / (calibration / 20)), 40), 200_000)

                // Two long estimates, run one at a time: whichever the worker takes first is
                // stopped; the other waits in the queue and is deleted before it is processed.
                try workspace.addRun("digits", extraManifest: "\n[estimate]\ndirections = \(directions)\n")
                for step in steps {
                    try workspace.addCheckpoint(3000, to: "digits", as: step)
                }
                let run = workspace.watchRoot + "/digits"
                let (running, waiting, termination, shutdown) = try await onOwnThread { () throws -> (Int, Int, Termination?, Duration) in
                    try daemon.waitForLog("one checkpoint estimating, both queued") { log in
                        steps.contains { log.contains("estimating digits/checkpoint-\($0)") }
                            && steps.allSatisfy { log.contains("queued digits step \($0)") }
                    }
                    guard let running = steps.first(where: { daemon.log.contains("estimating digits/checkpoint-\($0)") }),
                          let waiting = steps.first(where: { $0 != running })
                    else { throw HarnessError("no estimate running") }
                    try FileManager.default.removeItem(atPath: run + "/checkpoint-\(waiting)")
                    guard !daemon.log.contains("recorded digits/") else {
                        throw HarnessError("the estimate of \(directions) directions ended before the test could stop it")
                    }
                    let signalled = ContinuousClock.now
                    daemon.process.send(SIGTERM)
                    return (running, waiting, daemon.process.waitForExitBlocking(timeout: .seconds(30)), ContinuousClock.now - signalled)
                }
                #expect(termination == .exited(0), "log:\n\(daemon.process.logTail)")
                // The estimate is stopped between two directions, not run to its end (the job,
                // below, has no results): a few seconds at most, a guard against hanging.
                #expect(shutdown < .seconds(10), "shutdown took \(shutdown)")
                #expect(daemon.log.contains("returned the job's lease for shutdown"), "log:\n\(daemon.log)")
                return (running, waiting)
            }

            let (stoppedJobs, stoppedRows) = try await workspace.withStoppedDatabase { tables in
                (try await tables.jobs().filter { $0.run == "digits" }, try await tables.estimates().filter { $0.run == "digits" })
            }
            #expect(stoppedJobs.count == 2)
            for job in stoppedJobs {
                #expect(job.state == "queued", "\(job)")
                #expect(job.attempts == 0, "an interrupted attempt does not count: \(job)")
                #expect(job.lastError == nil && job.errorCode == nil && job.leaseExpiresAt == nil, "\(job)")
            }
            #expect(stoppedRows.isEmpty, "\(stoppedRows)")

            try await workspace.withServe { daemon in
                let jobs = try await daemon.eventually("both jobs finished after the restart", timeout: .seconds(120)) {
                    try await daemon.tables.settledJobs(atLeast: 3)
                }.filter { $0.run == "digits" }
                #expect(jobs.count == 2, "\(jobs)")
                let completed = try #require(jobs.first { $0.step == Int64(running) })
                #expect(completed.state == "done" && completed.attempts == 1, "\(completed)")
                #expect(try await daemon.tables.estimates().filter { $0.run == "digits" }.map(\.combination) == [
                    .init(run: "digits", step: Int64(running), cutoff: 0.01, preconditioner: "none"),
                ])
                let vanished = try #require(jobs.first { $0.step == Int64(waiting) })
                #expect(vanished.state == "failed", "\(vanished)")
                #expect(vanished.errorCode == "file.not_found", "\(vanished)")
                #expect(vanished.lastError?.contains("digits/checkpoint-\(waiting)") == true, "\(vanished)")
            }
        }
    }
}
