import Foundation
import Testing

extension ServeEndToEnd {
    /// What lands in the database: one row per checkpoint, cutoff and preconditioner, kept
    /// across restarts; and `volumed status` reading it beside a running daemon.
    @Suite struct Results {
        static let cutoffs = [0.01, 0.1]
        static let preconditioners = ["none", "adam"]

        /// Every combination for `steps` of the digits run.
        static func combinations(steps: [Int64]) -> Set<EstimateRow.Combination> {
            var all = Set<EstimateRow.Combination>()
            for step in steps {
                for cutoff in cutoffs {
                    for preconditioner in preconditioners {
                        all.insert(.init(run: "digits", step: step, cutoff: cutoff, preconditioner: preconditioner))
                    }
                }
            }
            return all
        }

        /// Exactly one row per combination; Adam is skipped (with its reason) at step 0, whose
        /// optimizer has no state yet, and computed everywhere else.
        static func expectOneRowPerCombination(_ rows: [EstimateRow], steps: [Int64]) {
            let counts = Dictionary(grouping: rows, by: \.combination).mapValues(\.count)
            #expect(Set(counts.keys) == combinations(steps: steps), "rows: \(rows)")
            #expect(counts.values.allSatisfy { $0 == 1 }, "duplicate rows: \(rows)")
            for row in rows {
                if row.preconditioner == "adam" && row.step == 0 {
                    #expect(row.skipped?.contains("no Adam state") == true, "\(row)")
                    #expect(row.logVolume == nil, "\(row)")
                } else {
                    #expect(row.skipped == nil, "\(row)")
                    #expect(row.logVolume.map { $0.isFinite && $0 < 0 } == true, "\(row)")
                }
            }
        }

        @Test func estimatesEachCheckpointOnceAndNothingAgainAfterARestart() async throws {
            let workspace = try ServeWorkspace(config: ServeConfig(cutoffs: Self.cutoffs, preconditioners: Self.preconditioners))

            let (firstJobs, firstRows) = try await workspace.withServe { daemon in
                try workspace.addRun("digits")
                try workspace.addCheckpoint(0, to: "digits", arrival: .inPlace)
                try workspace.addCheckpoint(100, to: "digits", arrival: .renamedFromTemporary)
                let jobs = try await daemon.eventually("checkpoints 0 and 100 estimated") {
                    try await daemon.tables.settledJobs(atLeast: 2)
                }
                return (jobs, try await daemon.tables.estimates())
            }
            #expect(Set(firstJobs.map(\.step)) == [0, 100])
            #expect(firstJobs.allSatisfy { $0.state == "done" && $0.attempts == 1 && $0.lastError == nil }, "\(firstJobs)")
            Self.expectOneRowPerCombination(firstRows, steps: [0, 100])

            // Dropped while the daemon is down: found by the start-up scan.
            try workspace.addCheckpoint(3000, to: "digits", arrival: .inPlace)
            let (jobs, rows) = try await workspace.withServe { daemon in
                // The start-up scan settles all three checkpoints together and the scheduler
                // takes them in path order, so once 3000 is done, 0 and 100 have been re-seen.
                let jobs = try await daemon.eventually("checkpoint 3000 estimated after the restart") {
                    try await daemon.tables.settledJobs(atLeast: 3)
                }
                return (jobs, try await daemon.tables.estimates())
            }
            #expect(jobs.count == 3, "\(jobs)")
            #expect(Array(jobs.prefix(2)) == firstJobs, "the restart touched finished jobs: \(jobs)")
            #expect(jobs.last.map { $0.step == 3000 && $0.state == "done" && $0.attempts == 1 } == true, "\(jobs)")
            #expect(Array(rows.prefix(firstRows.count)) == firstRows, "the restart changed or re-created stored rows")
            Self.expectOneRowPerCombination(rows, steps: [0, 100, 3000])
        }

        @Test func statusReportsQueueAndResultsWithoutStoppingTheDaemonsDatabase() async throws {
            let workspace = try ServeWorkspace(config: ServeConfig(cutoffs: [0.01], preconditioners: Self.preconditioners))
            try await workspace.withServe { daemon in
                try workspace.addRun("digits")
                try workspace.addCheckpoint(0, to: "digits")
                _ = try await daemon.eventually("checkpoint 0 estimated") { try await daemon.tables.settledJobs(atLeast: 1) }
                let postmaster = try String(contentsOfFile: workspace.stateDirectory + "/postgres/data/postmaster.pid", encoding: .utf8)

                let (termination, output) = try await workspace.run(["status"])
                #expect(termination == .exited(0), "\(output)")
                let lines = output.split(separator: "\n").map(String.init)
                #expect(lines.contains { $0.hasPrefix("jobs") && $0.contains("0 queued, 0 running, 1 done, 0 failed") }, "\(output)")
                let results = lines.filter { $0.hasPrefix("  digits") }
                #expect(results.count == 2, "\(output)")
                #expect(results.contains { $0.contains(" none ") && $0.contains("0.0100") }, "\(output)")
                #expect(results.contains { $0.contains("adam") && $0.contains("skipped: no Adam state") }, "\(output)")
                #expect(lines.contains("  (none)"), "no failures expected: \(output)")

                // The daemon's cluster kept running (status only borrowed it) and still serves it.
                let after = try? String(contentsOfFile: workspace.stateDirectory + "/postgres/data/postmaster.pid", encoding: .utf8)
                #expect(after == postmaster)
                try workspace.addCheckpoint(0, to: "digits", as: 1)
                let jobs = try await daemon.eventually("a checkpoint added after status estimated") {
                    try await daemon.tables.settledJobs(atLeast: 2)
                }
                #expect(jobs.map(\.state) == ["done", "done"], "\(jobs)")
            }
        }
    }
}
