import Base
import DB
import Foundation
import ProcessHarness
import Glibc
import Testing

extension ServeEndToEnd {
    /// SIGTERM (`systemctl stop`) in the middle of an estimate.
    ///
    /// A barrier, not a race, puts the signal inside the estimate: the test holds an exclusive
    /// lock on `estimates`, and the worker that claims a job first reads which estimates the
    /// checkpoint already has, so it waits there, before computing anything, until the test
    /// has sent SIGTERM and seen shutdown begin (STOPPING=1: the status service stops just
    /// before the workers are told to). Only then does the lock go, and the worker computes
    /// with the stop already requested or a moment away, seconds before its estimate could end.
    @Suite struct Shutdown {
        /// How long the interrupted estimate should take: far longer than the daemon needs to
        /// pass the stop request on, short enough to finish soon after the restart.
        static let longEstimate = 5.0

        @Test func sigtermReturnsTheRunningJobAndARestartCompletesIt() async throws {
            // One shard per estimate, however many directions: the job stopped is the whole estimate.
            let workspace = try ServeWorkspace(config: ServeConfig(cutoffs: [0.01], preconditioners: ["none"], directions: 20,
                                                                   shardDirections: 1_000_000))
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

                let barrier = try await Connection.connect(
                    to: ClusterLayout(stateDirectory: daemon.stateDirectory).connectionString(),
                    options: ConnectionOptions(applicationName: "volumed-e2e-barrier"))
                try await barrier.execute("BEGIN")
                try await barrier.execute("LOCK TABLE estimates IN ACCESS EXCLUSIVE MODE")
                do {
                    // Two long estimates, run one at a time: whichever the worker takes first is
                    // stopped; the other waits in the queue and is deleted before it is processed.
                    try workspace.addRun("digits", extraManifest: "\n[estimate]\ndirections = \(directions)\n")
                    for step in steps {
                        try workspace.addCheckpoint(3000, to: "digits", as: step)
                    }
                    try await daemon.eventually("one checkpoint claimed, both queued") { () -> Bool? in
                        let log = daemon.log
                        return steps.contains { log.contains("estimating digits/checkpoint-\($0)") }
                            && steps.allSatisfy { log.contains("queued digits step \($0)") } ? true : nil
                    }
                    guard let running = steps.first(where: { daemon.log.contains("estimating digits/checkpoint-\($0)") }),
                          let waiting = steps.first(where: { $0 != running })
                    else { throw HarnessError("no estimate running") }
                    try FileManager.default.removeItem(atPath: workspace.watchRoot + "/digits/checkpoint-\(waiting)")

                    daemon.process.send(SIGTERM)
                    try await daemon.eventually("STOPPING=1 after SIGTERM") {
                        daemon.notifications.lines.contains("STOPPING=1") ? true : nil
                    }
                    try await barrier.execute("ROLLBACK")
                    await barrier.close()
                    // A guard against hanging; the job's state below shows that the estimate
                    // was stopped, not run to its end.
                    let termination = await daemon.process.waitForExit(timeout: .seconds(60))
                    #expect(termination == .exited(0), "log:\n\(daemon.process.logTail)")
                    #expect(daemon.log.contains("returned the job's lease for shutdown"), "log:\n\(daemon.log)")
                    #expect(!daemon.log.contains("recorded digits/"), "log:\n\(daemon.log)")
                    return (running, waiting)
                } catch {
                    _ = try? await barrier.execute("ROLLBACK")
                    await barrier.close()
                    throw error
                }
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
