import Foundation
import Synchronization
import Testing
@testable import DB

/// A one-way gate: tasks wait until it opens. A cancelled waiter returns at once, so a task
/// group whose other task failed is not held up.
private final class Latch: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let passes = state.withLock { state in
                    if state.isOpen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if passes { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

/// Completed jobs seen by the workers, shared across them.
private actor Ledger {
    private(set) var completed: [Int64] = []
    /// Opens when the `milestone`th job is recorded.
    nonisolated let reachedMilestone = Latch()
    private let milestone: Int?

    init(milestone: Int? = nil) {
        self.milestone = milestone
    }

    func record(_ job: Int64) {
        completed.append(job)
        if completed.count == milestone { reachedMilestone.open() }
    }

    var count: Int { completed.count }
}

/// Enqueues `count` jobs over 10 runs; returns their ids.
private func enqueueJobs(_ count: Int, _ connection: Connection) async throws -> [Int64] {
    let store = ResultStore(connection: connection)
    let queue = JobQueue(connection: connection)
    var ids: [Int64] = []
    for index in 0..<count {
        let checkpoint = try await Records.checkpoint(store, run: "run-\(index % 10)", step: Int64(index), fingerprint: "fp-\(index)")
        ids.append(try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1").job.id)
    }
    return ids
}

/// Claims and completes jobs until none is left to claim (`beforeClaim` runs before each
/// claim). Each result is keyed by the checkpoint, so a duplicate completion would show up as
/// a second row. A job whose claim was lost with its reply stays running under a lease nobody
/// knows it holds; the test expires such leases once the workers have returned.
private func work(
    _ owner: String, _ cluster: TestCluster, _ ledger: Ledger, beforeClaim: @Sendable () async throws -> Void = {}
) async throws {
    let connection = try await cluster.connect()
    let queue = JobQueue(connection: connection)
    while true {
        try await beforeClaim()
        guard let job = try await queue.claim(owner: owner, leaseSeconds: 60) else { return }
        let estimate = Records.computed(logVolume: -Double(job.checkpoint.id))
        try await queue.complete(job, estimates: [estimate])
        await ledger.record(job.id)
    }
}

private func checkEveryJobDoneOnce(_ jobIDs: [Int64], _ ledger: Ledger, _ connection: Connection) async throws {
    let completed = await ledger.completed
    #expect(completed.sorted() == jobIDs.sorted(), "every job completed exactly once by the workers")
    let states = try await connection.query("SELECT state, count(*) AS n FROM jobs GROUP BY state")
    #expect(try states.map { try $0.decode(String.self, column: "state") } == ["done"])
    let totals = try #require(try await connection.query("""
        SELECT (SELECT count(*) FROM estimates) AS estimates,
               (SELECT count(DISTINCT checkpoint_id) FROM estimates) AS checkpoints,
               (SELECT count(*) FROM estimate_samples) AS samples,
               (SELECT count(*) FROM estimates e JOIN jobs j ON j.id = e.job_id
                WHERE e.checkpoint_id = j.checkpoint_id AND e.log_volume = -e.checkpoint_id) AS matching
        """).first)
    #expect(try totals.decode(Int.self, column: "estimates") == jobIDs.count)
    #expect(try totals.decode(Int.self, column: "checkpoints") == jobIDs.count)
    #expect(try totals.decode(Int.self, column: "samples") == 3 * jobIDs.count)
    #expect(try totals.decode(Int.self, column: "matching") == jobIDs.count)
}

extension PostgresTests {
    @Suite struct QueueConcurrencyTests {
        @Test func fourWorkersCompleteTwoHundredJobsExactlyOnce() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let jobIDs = try await enqueueJobs(200, connection)
                let ledger = Ledger()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<4 {
                        group.addTask { try await work("worker-\(worker)", cluster, ledger) }
                    }
                    try await group.waitForAll()
                }
                try await checkEveryJobDoneOnce(jobIDs, ledger, connection)
                let attempts = try await connection.query("SELECT max(attempts) AS most FROM jobs")
                #expect(try attempts.first?.decode(Int.self, column: "most") == 1)
            }
        }

        @Test func vanishedWorkersJobIsCompletedElsewhereAfterItsLeaseExpires() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let jobIDs = try await enqueueJobs(1, connection)

                let vanishing = try await cluster.connect()
                let lost = try #require(try await JobQueue(connection: vanishing).claim(owner: "vanishing", leaseSeconds: 60))
                await vanishing.close()

                let queue = JobQueue(connection: connection)
                #expect(try await queue.claim(owner: "survivor", leaseSeconds: 60) == nil, "the lease still holds")
                try await Records.expireLeases(connection)
                let takeover = try #require(try await queue.claim(owner: "survivor", leaseSeconds: 60))
                #expect(takeover.id == lost.id)
                #expect(takeover.attempt == 2)
                try await queue.complete(takeover, estimates: [Records.computed(logVolume: -Double(takeover.checkpoint.id))])

                let ledger = Ledger()
                await ledger.record(takeover.id)
                try await checkEveryJobDoneOnce(jobIDs, ledger, connection)
            }
        }

        /// The restart starts once 30 jobs are done, and the workers may not go past 100 until
        /// it has finished: it always happens with jobs left and workers busy. Leases are long,
        /// so none expires under a slow worker; a claim lost in the restart (the job stays
        /// running, its lease unknown to any worker) is taken over once the workers have
        /// returned and the test has expired the leases left behind.
        @Test func serverRestartMidRunLosesNothing() async throws {
            try await withCluster(ownCluster: true) { cluster in
                let connection = try await cluster.migratedConnection()
                let jobIDs = try await enqueueJobs(200, connection)
                let startedAt = try #require(try await connection.query("SELECT pg_postmaster_start_time()::text AS t").first)
                    .decode(String.self, column: "t")
                let ledger = Ledger(milestone: 30)
                let restarted = Latch()
                let completedAtRestart = try await withThrowingTaskGroup(of: Int?.self) { group in
                    for worker in 0..<4 {
                        group.addTask {
                            try await work("worker-\(worker)", cluster, ledger) {
                                if await ledger.count >= 100 { await restarted.wait() }
                            }
                            return nil
                        }
                    }
                    group.addTask {
                        defer { restarted.open() }
                        await ledger.reachedMilestone.wait()
                        try Task.checkCancellation()
                        try await cluster.cluster.restart()
                        return await ledger.count
                    }
                    var completed: Int?
                    for try await value in group where value != nil { completed = value }
                    return completed
                }
                let atRestart = try #require(completedAtRestart)
                #expect((30..<200).contains(atRestart), "the restart happened while jobs were left: \(atRestart) done")
                let restartedAt = try #require(try await connection.query("SELECT pg_postmaster_start_time()::text AS t", idempotent: true).first)
                    .decode(String.self, column: "t")
                #expect(restartedAt != startedAt)

                // Jobs claimed unseen in the restart: their leases run out, another worker takes them over.
                try await Records.expireLeases(connection)
                try await work("survivor", cluster, ledger)
                try await checkEveryJobDoneOnce(jobIDs, ledger, connection)
            }
        }
    }
}
