import DB

extension ProgressFormat {
    /// `volumed status`: `run-a step 60: LLC, 120/800 SGLD steps, elapsed 41s, ETA 2m04s`.
    static func statusLine(_ llc: RunningLLC) -> String {
        let name = llc.step.map { "\(llc.run) step \($0)" } ?? "\(llc.run)/\(llc.checkpointPath.split(separator: "/").last.map(String.init) ?? llc.checkpointPath)"
        var line = "\(name): LLC, \(llc.stepsDone)/\(llc.stepsTotal.map(String.init) ?? "?") SGLD steps"
        if let elapsed = llc.elapsed {
            line += ", elapsed \(duration(elapsed))"
            if let total = llc.stepsTotal, let left = remaining(elapsed: elapsed, done: llc.stepsDone, total: total) {
                line += ", ETA \(duration(left))"
            }
        }
        return line
    }
}
