import Foundation

/// The lines the soak prints at the end: what was done, what the daemon went through, what the
/// database holds, every violation, and the one-line verdict.
struct SoakSummary {
    let plan: SoakPlan
    let generator: Generator.Report
    let supervisor: Supervisor.Report
    let verdict: Verdict
    /// Wall time of the whole soak, start-up to the check.
    let seconds: Double

    /// How many findings of each kind are shown in full.
    static let shownPerKind = 20

    var lines: [String] {
        var lines: [String] = []
        let defects = SoakPlan.Defect.allCases.map { defect in
            "\(plan.bad.filter { $0.defect == defect }.count) \(defect.rawValue)"
        }
        let deletedAfter = generator.deletedAfterProcessing.values.filter { $0 }.count
        let deletedBefore = generator.deletedAfterProcessing.count - deletedAfter
        let rewritten = plan.good.filter { !$0.rewrites.isEmpty }.count
        lines.append(
            "soak: seed \(plan.seed): \(generator.written) checkpoints written into \(plan.runs.count) runs over "
                + "\(String(format: "%.1f", plan.duration / 60)) min: \(plan.good.count) good "
                + "(\(rewritten) rewritten identically, \(generator.rewritten) rewrites), \(plan.bad.count) bad "
                + "(\(defects.joined(separator: ", "))), \(generator.deletedAfterProcessing.count) deleted "
                + "(\(deletedBefore) before processing, \(deletedAfter) after)")
        let ready = supervisor.readySeconds.sorted()
        let median = ready.isEmpty ? 0 : ready[ready.count / 2]
        let restarts = supervisor.postgresRestarts.map { "postmaster \($0.before) → \($0.after)" }
        lines.append(
            "soak: daemon: \(supervisor.launches) launches, \(supervisor.signals) SIGKILLs (\(supervisor.signalsMidJob) while estimating, "
                + "\(supervisor.signalsBeforeReady) before READY=1), READY=1 again after each (median \(String(format: "%.1f", median)) s, max "
                + "\(String(format: "%.1f", ready.last ?? 0)) s); the running PostgreSQL adopted after \(supervisor.adopted) of "
                + "\(supervisor.survived) kills\(supervisor.adopted < supervisor.survived ? " (restarted cleanly after the others)" : ""); "
                + "PostgreSQL restarted \(supervisor.postgresRestarts.count) time(s) under the daemon"
                + (restarts.isEmpty ? "" : " (\(restarts.joined(separator: ", ")))"))
        let counts = verdict.counts
        lines.append(
            "soak: database: \(counts.done) jobs done, \(counts.failed) failed, \(counts.retried) needed more than one "
                + "attempt; \(counts.computed) estimate rows computed, \(counts.skipped) skipped (no Adam state); LLC jobs "
                + "\(counts.llcDone) done, \(counts.llcFailed) failed, \(counts.llcEstimates) LLC estimates stored")
        if let stop = supervisor.stop {
            lines.append(
                "soak: SIGTERM at the end: \(stop.termination.map { "\($0)" } ?? "no exit") after "
                    + "\(String(format: "%.1f", stop.seconds)) s, PostgreSQL \(stop.clusterStopped ? "stopped" : "left running")")
        }
        for (kind, findings) in [("lost", verdict.lost), ("duplicated", verdict.duplicated), ("stuck", verdict.stuck),
                                 ("unexpected", verdict.unexpected + supervisor.problems)] {
            for finding in findings.prefix(Self.shownPerKind) {
                lines.append("soak: \(kind): \(finding)")
            }
            if findings.count > Self.shownPerKind {
                lines.append("soak: \(kind): … and \(findings.count - Self.shownPerKind) more")
            }
        }
        lines.append(verdictLine)
        return lines
    }

    var unexpectedCount: Int { verdict.unexpected.count + supervisor.problems.count }

    var isClean: Bool { verdict.isClean && supervisor.problems.isEmpty }

    var verdictLine: String {
        "soak: \(plan.checkpoints.count) checkpoints (\(plan.good.count) good, \(plan.bad.count) bad, "
            + "\(plan.deleted.count) deleted), \(supervisor.signals) SIGKILLs survived, "
            + "\(supervisor.postgresRestarts.count) PostgreSQL restart\(supervisor.postgresRestarts.count == 1 ? "" : "s"), "
            + "\(verdict.lost.count) lost, \(verdict.duplicated.count) duplicated, \(verdict.stuck.count) stuck, "
            + "\(unexpectedCount) unexpected; \(String(format: "%.1f", seconds / 60)) min"
    }
}
