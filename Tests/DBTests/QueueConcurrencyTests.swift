import Foundation
import Testing
@testable import DB

/// Completed jobs seen by the workers, shared across them.
private actor Ledger {
    private(set) var completed: [Int64] = []

    func record(_ job: Int64) { completed.append(job) }
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

/// Claims and completes jobs until none is queued or running. Each result is keyed by the
/// checkpoint, so a duplicate completion would show up as a second row.
private func work(_ owner: String, _ cluster: TestCluster, _ ledger: Ledger, leaseSeconds: Double) async throws {
    let connection = try await cluster.connect()
    let queue = JobQueue(connection: connection)
    let store = ResultStore(connection: connection)
    while true {
        guard let job = try await queue.claim(owner: owner, leaseSeconds: leaseSeconds) else {
            let counts = try await store.queueCounts()
            if counts.queued + counts.running == 0 { return }
            // Another worker's job, or a lease lost to a dropped connection: wait for it.
            try await Task.sleep(for: .milliseconds(100))
            continue
        }
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
                        group.addTask { try await work("worker-\(worker)", cluster, ledger, leaseSeconds: 60) }
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

        @Test func serverRestartMidRunLosesNothing() async throws {
            try await withCluster(ownCluster: true) { cluster in
                let connection = try await cluster.migratedConnection()
                let jobIDs = try await enqueueJobs(200, connection)
                let startedAt = try #require(try await connection.query("SELECT pg_postmaster_start_time()::text AS t").first)
                    .decode(String.self, column: "t")
                let ledger = Ledger()
                let completedBeforeRestart = try await withThrowingTaskGroup(of: Int?.self) { group in
                    for worker in 0..<4 {
                        // Short leases: a claim whose reply was lost in the restart expires quickly.
                        group.addTask { try await work("worker-\(worker)", cluster, ledger, leaseSeconds: 3); return nil }
                    }
                    group.addTask {
                        while await ledger.count < 30 { try await Task.sleep(for: .milliseconds(5)) }
                        let before = await ledger.count
                        try await cluster.cluster.restart()
                        return before
                    }
                    var before: Int?
                    for try await value in group where value != nil { before = value }
                    return before
                }
                #expect((completedBeforeRestart ?? 200) < 200, "the restart happened while jobs were left")
                let restartedAt = try #require(try await connection.query("SELECT pg_postmaster_start_time()::text AS t", idempotent: true).first)
                    .decode(String.self, column: "t")
                #expect(restartedAt != startedAt)
                try await checkEveryJobDoneOnce(jobIDs, ledger, connection)
            }
        }
    }
}
