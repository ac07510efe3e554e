import Estimator

/// What the database holds at the end, judged against the plan:
/// - every good checkpoint: one version, one estimate whose shards are all `done` (each shard
///   once), exactly one row per cutoff × preconditioner (Adam skipped where there is no Adam
///   state, computed with every sample elsewhere), no shard results left behind;
/// - every bad checkpoint: one version, one estimate whose shards all `failed` with the error
///   its defect causes, no rows;
/// - deleted checkpoints: no duplicate rows, and the rows of one deleted after processing kept;
/// - no job queued or running, no two rows with the same key, nothing at paths the soak never
///   wrote;
/// - in the runs with `[llc]` enabled, every good checkpoint: one LLC job, `done`, and one LLC
///   estimate with every chain's trace; every bad one with damaged weights: its LLC job `failed`
///   with the defect's error, no LLC row (a damaged optimizer state leaves the LLC to succeed); no checkpoint of another run has an LLC job or row.
struct Verdict: Sendable {
    /// Good checkpoints (or their rows) missing, or bad ones without their failed job.
    var lost: [String] = []
    /// Rows, jobs or versions beyond one per checkpoint and key.
    var duplicated: [String] = []
    /// Jobs still queued or running.
    var stuck: [String] = []
    /// Anything else that should not be: wrong errors, unknown paths, the daemon ending by itself.
    var unexpected: [String] = []

    var isClean: Bool { lost.isEmpty && duplicated.isEmpty && stuck.isEmpty && unexpected.isEmpty }

    /// Settings the daemon ran with.
    struct Expectation: Sendable {
        var cutoffs: [Double]
        var preconditioners: [String]
        var directions: Int
    }

    struct Counts: Sendable {
        var done = 0
        var failed = 0
        var retried = 0
        var computed = 0
        var skipped = 0
        var llcDone = 0
        var llcFailed = 0
        var llcEstimates = 0
    }

    private(set) var counts = Counts()

    init(plan: SoakPlan, generator: Generator.Report, writer: CheckpointWriter, snapshot: SoakDatabase.Snapshot,
         expectation: Expectation) {
        let versions = Dictionary(grouping: snapshot.checkpoints, by: \.path)
        let jobs = Dictionary(grouping: snapshot.jobs.filter { $0.kind == "volume" }, by: \.checkpointID)
        let llcJobs = Dictionary(grouping: snapshot.jobs.filter { $0.kind == "llc" }, by: \.checkpointID)
        let llcRows = Dictionary(grouping: snapshot.llcEstimates, by: \.checkpointID)
        let estimates = Dictionary(grouping: snapshot.estimates, by: \.checkpointID)
        let expectedKeys = Set(expectation.cutoffs.flatMap { cutoff in expectation.preconditioners.map { Key(cutoff: cutoff, preconditioner: $0) } })

        for job in snapshot.jobs {
            switch job.state {
            case "done": counts.done += 1
            case "failed": counts.failed += 1
            default: stuck.append("\(job) (checkpoint \(job.checkpointID))")
            }
            if job.attempts > 1 { counts.retried += 1 }
            if job.kind == "llc" {
                if job.state == "done" { counts.llcDone += 1 }
                if job.state == "failed" { counts.llcFailed += 1 }
            }
        }
        counts.llcEstimates = snapshot.llcEstimates.count
        for row in snapshot.estimates {
            if row.skipped == nil { counts.computed += 1 } else { counts.skipped += 1 }
        }
        if snapshot.duplicateKeys > 0 {
            duplicated.append("\(snapshot.duplicateKeys) estimate key(s) stored more than once")
        }
        if snapshot.leftoverShardRows > 0 {
            duplicated.append("\(snapshot.leftoverShardRows) shard result row(s) of finished estimates were not aggregated away")
        }
        let planned = Set(plan.checkpoints.map { writer.path(of: $0) })
        for (path, rows) in versions where !planned.contains(path) {
            unexpected.append("\(rows.count) checkpoint row(s) at \(path), which the soak never wrote")
        }

        for checkpoint in plan.checkpoints {
            let path = writer.path(of: checkpoint)
            let found = versions[path] ?? []
            let what = "\(checkpoint.run)/\(checkpoint.name)"
            checkLLCJobs(checkpoint, what: what, found: found, jobs: llcJobs, rows: llcRows)
            if let defect = checkpoint.defect {
                // Bad: one version, one failed job with the defect's error, nothing estimated.
                guard !found.isEmpty else {
                    lost.append("\(what) (\(defect.rawValue)) was never registered: its failure is not visible")
                    continue
                }
                if found.count > 1 { unexpected.append("\(what) (\(defect.rawValue)) registered \(found.count) times") }
                let versionJobs = found.flatMap { jobs[$0.id] ?? [] }
                if versionJobs.isEmpty { lost.append("\(what) (\(defect.rawValue)) has no job") }
                if let problem = Self.shardProblem(versionJobs) { duplicated.append("\(what) (\(defect.rawValue)): \(problem)") }
                for job in versionJobs where job.state == "done" || job.state == "failed" {
                    if job.state == "done" {
                        unexpected.append("\(what) (\(defect.rawValue)) was estimated: \(job)")
                    } else if !(job.errorCode ?? "").hasPrefix(defect.expectedErrorCode) || (job.lastError ?? "").isEmpty {
                        unexpected.append("\(what) (\(defect.rawValue)) failed without the expected \(defect.expectedErrorCode)… error: \(job)")
                    }
                }
                let rows = found.flatMap { estimates[$0.id] ?? [] }
                if !rows.isEmpty { unexpected.append("\(what) (\(defect.rawValue)) has \(rows.count) estimate rows") }
            } else if let deletion = checkpoint.deletion {
                // Deleted: whatever was stored stays, once; kept rows complete when it went after processing.
                for version in found {
                    let rows = estimates[version.id] ?? []
                    let keys = rows.map { Key(cutoff: $0.cutoff, preconditioner: $0.preconditioner) }
                    if Set(keys).count != keys.count || rows.count > expectedKeys.count {
                        duplicated.append("deleted \(what) has \(rows.count) rows for \(Set(keys).count) keys")
                    }
                    for job in jobs[version.id] ?? [] where job.state == "failed" && (job.errorCode ?? "").isEmpty {
                        unexpected.append("deleted \(what) failed without an error code: \(job)")
                    }
                }
                if case .afterProcessing = deletion, generator.deletedAfterProcessing[checkpoint.id] == true {
                    let rows = found.flatMap { estimates[$0.id] ?? [] }
                    if rows.count != expectedKeys.count {
                        lost.append("\(what) was deleted after processing and kept \(rows.count) of its \(expectedKeys.count) rows")
                    }
                }
            } else {
                checkGood(checkpoint, what: what, path: path, found: found, jobs: jobs, estimates: estimates,
                          expectedKeys: expectedKeys, directions: checkpoint.directions ?? expectation.directions,
                          llcJobs: llcJobs, llcRows: llcRows)
            }
        }
    }

    /// What is wrong with one checkpoint's jobs as the shards of one estimate: each shard
    /// 0..<shards exactly once; nil when nothing is.
    static func shardProblem(_ jobs: [SoakDatabase.JobRow]) -> String? {
        guard let shards = jobs.first?.shards else { return nil }
        let numbers = jobs.map(\.shard).sorted()
        guard jobs.allSatisfy({ $0.shards == shards }), numbers == Array(0..<shards) else {
            return "\(jobs.count) jobs are not the shards 1…\(shards) of one estimate, once each: \(jobs)"
        }
        return nil
    }

    /// LLC jobs and rows of any checkpoint: none outside the runs with `[llc]`; at most one job
    /// and one row per version; a bad checkpoint's LLC job failed with its defect's error.
    private mutating func checkLLCJobs(_ checkpoint: SoakPlan.Checkpoint, what: String, found: [SoakDatabase.CheckpointRow],
                                       jobs: [Int64: [SoakDatabase.JobRow]], rows: [Int64: [SoakDatabase.LLCRow]]) {
        let versionJobs = found.flatMap { jobs[$0.id] ?? [] }
        let versionRows = found.flatMap { rows[$0.id] ?? [] }
        guard SoakPlan.hasLLC(checkpoint.run) else {
            if !versionJobs.isEmpty || !versionRows.isEmpty {
                unexpected.append("\(what): its run does not enable [llc], yet it has \(versionJobs.count) LLC job(s) and \(versionRows.count) LLC row(s)")
            }
            return
        }
        for version in found {
            let perVersion = jobs[version.id] ?? []
            if perVersion.count > 1 { duplicated.append("\(what): \(perVersion.count) LLC jobs for one version: \(perVersion)") }
            let stored = (rows[version.id] ?? []).count
            if stored > 1 { duplicated.append("\(what): \(stored) LLC estimates for one version") }
        }
        guard let defect = checkpoint.defect else { return }
        guard defect.failsLLC else {
            // The LLC reads the weights and eval data only: a damaged optimizer state leaves it to run.
            if !found.isEmpty { checkGoodLLC(what: "\(what) (\(defect.rawValue))", jobs: versionJobs, rows: versionRows) }
            return
        }
        if !found.isEmpty, versionJobs.isEmpty { lost.append("\(what) (\(defect.rawValue)) has no LLC job") }
        for job in versionJobs {
            if job.state == "done" {
                unexpected.append("\(what) (\(defect.rawValue)): its LLC was estimated: \(job)")
            } else if job.state == "failed", !(job.errorCode ?? "").hasPrefix(defect.expectedErrorCode) {
                unexpected.append("\(what) (\(defect.rawValue)): its LLC job failed without the expected \(defect.expectedErrorCode)… error: \(job)")
            }
        }
        if !versionRows.isEmpty { unexpected.append("\(what) (\(defect.rawValue)) has \(versionRows.count) LLC estimate(s)") }
    }

    /// A good checkpoint of a run with `[llc]`: its one LLC job done, its one estimate with every
    /// chain's `draws` losses.
    private mutating func checkGoodLLC(what: String, jobs: [SoakDatabase.JobRow], rows: [SoakDatabase.LLCRow]) {
        if let failed = jobs.first(where: { $0.state == "failed" }) {
            lost.append("\(what) is good, but its LLC job failed: \(failed)")
        } else if jobs.isEmpty || !jobs.allSatisfy({ $0.state == "done" }) {
            lost.append("\(what) has no finished LLC job: \(jobs)")
        } else if rows.isEmpty {
            lost.append("\(what): its LLC job is done but no LLC estimate is stored")
        }
        let samples = SoakPlan.llcChains * SoakPlan.llcDraws
        for row in rows where row.chains != SoakPlan.llcChains || row.samples != samples {
            unexpected.append("\(what): an LLC estimate of \(row.chains) chains with \(row.samples) losses (expected \(SoakPlan.llcChains) chains, \(samples) losses)")
        }
    }

    private struct Key: Hashable {
        var cutoff: Double
        var preconditioner: String
    }

    private mutating func checkGood(
        _ checkpoint: SoakPlan.Checkpoint, what: String, path: String, found: [SoakDatabase.CheckpointRow],
        jobs: [Int64: [SoakDatabase.JobRow]], estimates: [Int64: [SoakDatabase.EstimateRow]], expectedKeys: Set<Key>,
        directions: Int, llcJobs: [Int64: [SoakDatabase.JobRow]], llcRows: [Int64: [SoakDatabase.LLCRow]]
    ) {
        let fingerprint: String
        do {
            fingerprint = try CheckpointFolder(path: path).fingerprint()
        } catch {
            unexpected.append("\(what) cannot be read back from disk: \(error)")
            return
        }
        guard let version = found.first(where: { $0.fingerprint == fingerprint }) else {
            lost.append("\(what) was never registered with its content's fingerprint (\(found.count) other version(s))")
            return
        }
        if found.count > 1 {
            unexpected.append("\(what) was written once (plus identical rewrites) but registered as \(found.count) versions")
        }
        if SoakPlan.hasLLC(checkpoint.run) {
            checkGoodLLC(what: what, jobs: llcJobs[version.id] ?? [], rows: llcRows[version.id] ?? [])
        }
        let versionJobs = jobs[version.id] ?? []
        if let problem = Self.shardProblem(versionJobs) { duplicated.append("\(what): \(problem)") }
        if let failed = versionJobs.first(where: { $0.state == "failed" }) {
            lost.append("\(what) is good, but a job of its estimate failed: \(failed)")
        } else if versionJobs.isEmpty || !versionJobs.allSatisfy({ $0.state == "done" }) {
            lost.append("\(what) has no finished estimate: \(versionJobs)")
        }
        let rows = estimates[version.id] ?? []
        let keys = rows.map { Key(cutoff: $0.cutoff, preconditioner: $0.preconditioner) }
        if keys.count > Set(keys).count || !Set(keys).isSubset(of: expectedKeys) {
            duplicated.append("\(what) has \(rows.count) rows for \(Set(keys).count) distinct keys")
        }
        let missing = expectedKeys.subtracting(keys)
        if !missing.isEmpty {
            lost.append("\(what) lacks \(missing.count) of its \(expectedKeys.count) rows")
        }
        for row in rows {
            let skip = row.preconditioner == "adam" && checkpoint.adamSkipped
            if skip, row.skipped == nil {
                unexpected.append("\(what): adam at cutoff \(row.cutoff) was computed, but this checkpoint has no Adam state")
            } else if !skip, row.skipped != nil || !(row.logVolume?.isFinite ?? false) || row.samples != directions {
                unexpected.append(
                    "\(what): \(row.preconditioner) at cutoff \(row.cutoff) is not a complete estimate (skipped: \(row.skipped ?? "no"), log volume \(row.logVolume.map { "\($0)" } ?? "NULL"), \(row.samples) samples)")
            }
        }
    }
}
