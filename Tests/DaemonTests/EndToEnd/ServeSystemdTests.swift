import Foundation
import ProcessHarness
import Glibc
import Testing

extension ServeEndToEnd {
    /// What systemd sees of `volumed serve`: the notification protocol, and `systemctl reload`
    /// (SIGHUP) picking up new estimation settings.
    @Suite struct Systemd {
        @Test func notifiesReadyStatusWatchdogAndStoppingInOrder() async throws {
            let workspace = try ServeWorkspace()
            let lines = try await workspace.withServe(environment: ["WATCHDOG_USEC": "2000000"]) { daemon in
                // STATUS= is refreshed every few seconds, WATCHDOG=1 every second here.
                try await daemon.eventually("STATUS= and WATCHDOG=1 after READY=1") {
                    daemon.notifications.lines.containsSubsequence(withPrefixes: ["READY=1", "STATUS=", "WATCHDOG=1"]) ? true : nil
                }
                daemon.process.send(SIGTERM)
                let termination = await daemon.process.waitForExit(timeout: .seconds(30))
                #expect(termination == .exited(0), "log:\n\(daemon.process.logTail)")
                daemon.notifications.stop()
                return daemon.notifications.lines
            }
            #expect(lines.containsSubsequence(withPrefixes: ["READY=1", "STATUS=", "WATCHDOG=1", "STOPPING=1"]), "\(lines)")
            #expect(lines.filter { $0 == "READY=1" }.count == 1, "\(lines)")
            let status = lines.last { $0.hasPrefix("STATUS=") }
            #expect(status?.contains("0 queued, 0 running, 0 done, 0 failed") == true, "\(lines)")
        }

        @Test func reloadWithANewCutoffAddsOnlyThatCutoffToOldAndNewCheckpoints() async throws {
            var config = ServeConfig(cutoffs: [0.01], preconditioners: ["none", "adam"])
            let workspace = try ServeWorkspace(config: config)
            try await workspace.withServe { daemon in
                try workspace.addRun("digits")
                try workspace.addCheckpoint(0, to: "digits")
                try workspace.addCheckpoint(100, to: "digits", arrival: .renamedFromTemporary)
                _ = try await daemon.eventually("checkpoints 0 and 100 estimated") { try await daemon.tables.settledJobs(atLeast: 2) }
                let before = try await daemon.tables.estimates()
                #expect(before.count == 4, "\(before)")

                // A file with a mistake is reported and changes nothing.
                let mistyped = config.text.replacingOccurrences(of: "threads = 1\n", with: "threads = 1\nthread = 2\n")
                try Data(mistyped.utf8).write(to: URL(fileURLWithPath: workspace.configPath))
                try await reload(daemon)
                let failure = daemon.log.split(separator: "\n").first { $0.contains("reload failed; keeping the previous configuration") }
                #expect(failure?.contains("unknown key 'workers.thread'") == true, "log:\n\(daemon.log)")

                config.cutoffs = [0.01, 0.1]
                try workspace.write(config)
                try await reload(daemon)
                try workspace.addCheckpoint(3000, to: "digits")

                var expected = Set<EstimateRow.Combination>()
                for step: Int64 in [0, 100, 3000] {
                    for cutoff in config.cutoffs {
                        for preconditioner in config.preconditioners {
                            expected.insert(.init(run: "digits", step: step, cutoff: cutoff, preconditioner: preconditioner))
                        }
                    }
                }
                let rows = try await daemon.eventually("every checkpoint estimated at both cutoffs") { () -> [EstimateRow]? in
                    let rows = try await daemon.tables.estimates()
                    guard Set(rows.map(\.combination)) == expected, try await daemon.tables.settledJobs(atLeast: 3) != nil else { return nil }
                    return rows
                }
                #expect(rows.count == expected.count, "duplicate rows: \(rows)")
                #expect(Array(rows.prefix(before.count)) == before, "rows stored before the reload changed")
                let added = rows.dropFirst(before.count)
                let addedToOld = added.filter { $0.step != 3000 }
                #expect(addedToOld.count == 4, "\(rows)")
                #expect(addedToOld.allSatisfy { $0.cutoff == 0.1 }, "the reload recomputed an old cutoff: \(rows)")
                #expect(Set(addedToOld.compactMap(\.jobID)).isDisjoint(with: before.compactMap(\.jobID)), "\(rows)")
                #expect(added.filter { $0.step == 3000 }.count == 4, "\(rows)")
                let skipped = rows.filter { $0.skipped != nil }.map(\.combination)
                #expect(Set(skipped) == [
                    .init(run: "digits", step: 0, cutoff: 0.01, preconditioner: "adam"),
                    .init(run: "digits", step: 0, cutoff: 0.1, preconditioner: "adam"),
                ])
                #expect(try await daemon.tables.jobs().allSatisfy { $0.state == "done" })
                // Settings given on the command line (--watch) are not "changed" by a reload.
                #expect(!daemon.log.contains("takes effect at the next restart"), "log:\n\(daemon.log)")
            }
        }

        /// SIGHUP, then RELOADING=1 and READY=1 once the daemon has reread its configuration.
        private func reload(_ daemon: ServeDaemon) async throws {
            let seen = daemon.notifications.lines.count
            daemon.process.send(SIGHUP)
            try await daemon.eventually("RELOADING=1, then READY=1") {
                Array(daemon.notifications.lines.dropFirst(seen)).containsSubsequence(withPrefixes: ["RELOADING=1", "READY=1"]) ? true : nil
            }
        }
    }
}

extension [String] {
    /// True when lines starting with `prefixes` occur in this order (other lines may come
    /// between them).
    func containsSubsequence(withPrefixes prefixes: [String]) -> Bool {
        var remaining = prefixes[...]
        for line in self {
            guard let next = remaining.first else { break }
            if line.hasPrefix(next) { remaining.removeFirst() }
        }
        return remaining.isEmpty
    }
}
