import ArgumentParser
import DB
import Foundation

/// `volumed status`: the queue by state, the estimates under way (directions done, ETA), the
/// latest results and the failures with their errors.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the job queue, recent results and failed jobs.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "How many recent results and failures to list.")
    var limit = 10

    func run() async throws {
        let config = try database.loadConfig()
        try await database.withDatabase(config) { db, connection in
            let store = ResultStore(connection: connection)
            let counts = try await store.queueCounts()
            let running = try await store.runningEstimates()
            let results = try await store.recentEstimates(limit: limit)
            let failures = try await store.recentFailures(limit: limit)
            let llc = LLCStore(connection: connection)
            let llcCounts = try await llc.queueCounts()
            let llcRunning = try await llc.running()
            print("database  \(db.connectionDescription)")
            var queue = "jobs      \(counts.queued) queued, \(counts.running) running, \(counts.done) done, \(counts.failed) failed"
            if counts.expiredLeases > 0 { queue += " (\(counts.expiredLeases) running with an expired lease)" }
            print(queue)
            if llcCounts != QueueCounts() {
                print("  of them LLC jobs: \(llcCounts.queued) queued, \(llcCounts.running) running, \(llcCounts.done) done, \(llcCounts.failed) failed")
            }
            if !running.isEmpty || !llcRunning.isEmpty {
                print("")
                print("estimates under way")
                for estimate in running { print("  " + ProgressFormat.statusLine(estimate)) }
                for estimate in llcRunning { print("  " + ProgressFormat.statusLine(estimate)) }
            }
            print("")
            print("latest results")
            if results.isEmpty { print("  (none yet)") }
            var rows = [["  run", "step", "cutoff", "preconditioner", "log10 volume", "recorded"]]
            for r in results {
                let value = r.skipped.map { "skipped: \($0)" } ?? r.log10Volume.map { format($0, 1) } ?? "∞"
                let name = r.preconditionerParams.isEmpty ? r.preconditioner : "\(r.preconditioner):\(r.preconditionerParams)"
                let series = r.seriesLabel.map { "\(name) (\($0))" } ?? name
                rows.append(["  " + r.run, r.step.map(String.init) ?? "—", format(r.cutoff, 4), series, value, timestamp(r.createdAt)])
            }
            if !results.isEmpty { printTable(rows) }
            print("")
            print("failures")
            if failures.isEmpty { print("  (none)") }
            for f in failures {
                let step = f.step.map { " step \($0)" } ?? ""
                print("  job \(f.jobID) [\(f.state.rawValue), attempt \(f.attempts)/\(f.maxAttempts)] \(f.run)\(step): \(f.checkpointPath)")
                print("    \(f.errorCode.map { "[\($0)] " } ?? "")\(f.lastError)")
            }
            if failures.contains(where: { $0.state == .failed }) {
                print("\nre-queue failed jobs with `volumed retry JOB_ID…` or `volumed retry --all`")
            }
        }
    }
}

/// `volumed retry`: puts failed jobs back in the queue.
struct RetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Re-queue failed jobs (by id, or all of them).")

    @OptionGroup var database: DatabaseOptions

    @Argument(help: "Job ids (see `volumed status`); a shard's id re-queues every failed shard of its estimate.")
    var jobs: [Int64] = []

    @Flag(help: "Re-queue every failed job.")
    var all = false

    func validate() throws {
        guard all != !jobs.isEmpty else { throw ValidationError("give job ids or --all (not both)") }
    }

    func run() async throws {
        let config = try database.loadConfig()
        try await database.withDatabase(config) { _, connection in
            let queue = JobQueue(connection: connection)
            let requeued = all ? try await queue.retryAllFailed() : try await queue.retry(jobIDs: jobs)
            print(requeued.isEmpty ? "no failed job to re-queue" : "re-queued \(requeued.count) job(s): \(requeued.map(String.init).joined(separator: ", "))")
            let missing = Set(jobs).subtracting(requeued)
            if !missing.isEmpty {
                print("not failed (or unknown), nor a shard of an estimate with failed shards: \(missing.sorted().map(String.init).joined(separator: ", "))")
            }
        }
    }
}

func timestamp(_ date: Date) -> String {
    let f = DateFormatter()
    f.dateFormat = "yyyy-MM-dd HH:mm:ss"
    return f.string(from: date)
}
