import DB
import Estimator

/// How progress reads for people: `volumed estimate`'s progress line, `volumed status`'s
/// estimates under way and the short `STATUS=` form. Pure: numbers in, text out.
enum ProgressFormat {
    /// `42s`, `5m12s`, `2h05m`.
    static func duration(_ seconds: Double) -> String {
        let total = Int(max(0, seconds).rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m\(pad(total % 60))s" }
        return "\(total / 3600)h\(pad(total % 3600 / 60))m"
    }

    /// Seconds left at the rate so far: `elapsed` for `done` of `total`; nil before any is done.
    static func remaining(elapsed: Double, done: Int, total: Int) -> Double? {
        guard done > 0 else { return nil }
        return elapsed * Double(max(0, total - done)) / Double(done)
    }

    /// `volumed estimate`'s line: `adam: 412/1000 directions, 926 KL evaluations, 5m12s, ETA 7m25s`.
    static func estimateLine(preconditioner: String, progress: EstimateProgress, elapsed: Double) -> String {
        var line = "\(preconditioner): \(progress.directionsDone)/\(progress.directions) directions, "
            + "\(progress.klEvaluations) KL evaluations, \(duration(elapsed))"
        if let left = remaining(elapsed: elapsed, done: progress.directionsDone, total: progress.directions) {
            line += ", ETA \(duration(left))"
        }
        return line
    }

    /// What the estimate is: `run-a step 60`, or the checkpoint folder's name without a step.
    static func name(_ estimate: RunningEstimate) -> String {
        estimate.step.map { "\(estimate.run) step \($0)" } ?? "\(estimate.run)/\(lastComponent(estimate.checkpointPath))"
    }

    /// `volumed status`: `run-a step 60: 412/2000 directions (k = 1000), shards 3/20 done, 2 running, elapsed 5m12s, ETA 20m31s`.
    static func statusLine(_ estimate: RunningEstimate) -> String {
        var line = "\(name(estimate)): \(estimate.directionsDone)/\(estimate.directionsTotal.map(String.init) ?? "?") directions"
        if let k = estimate.directions { line += " (k = \(k))" }
        line += ", shards \(estimate.shardsDone)/\(estimate.shards) done"
        if estimate.shardsRunning > 0 { line += ", \(estimate.shardsRunning) running" }
        if estimate.shardsFailed > 0 { line += ", \(estimate.shardsFailed) failed" }
        if let elapsed = estimate.elapsed { line += ", elapsed \(duration(elapsed))" }
        if let left = estimate.remaining { line += ", ETA \(duration(left))" }
        return line
    }

    /// `STATUS=`'s short form: `run-a step 60 412/2000 ETA 20m31s`, `(+2 more)` when several run.
    static func statusShort(_ estimates: [RunningEstimate]) -> String? {
        guard let first = estimates.first else { return nil }
        var text = "\(name(first)) \(first.directionsDone)/\(first.directionsTotal.map(String.init) ?? "?")"
        if let left = first.remaining { text += " ETA \(duration(left))" }
        if estimates.count > 1 { text += " (+\(estimates.count - 1) more)" }
        return text
    }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
