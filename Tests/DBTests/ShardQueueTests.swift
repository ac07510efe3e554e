import Foundation
import Synchronization
import Testing
@testable import DB

/// Estimates of 8 directions at two cutoffs, in shards of 0..<3, 3..<6 and 6..<8.
private enum Shards {
    static let ranges = [0..<3, 3..<6, 6..<8]
    static let cutoffs = [0.01, 0.1]
    static let settings = #"{"cutoffs": [0.01, 0.1], "preconditioners": ["none", "adam"], "directions": 8}"#

    static func enqueue(_ queue: JobQueue, _ checkpointID: Int64, key: String = "k1") async throws -> [JobRecord] {
        _ = try await queue.enqueue(checkpointID: checkpointID, settings: settings, settingsKey: key, shards: ranges)
        return try await jobs(queue.connection)
    }

    static func jobs(_ connection: Connection) async throws -> [JobRecord] {
        try await connection.query("SELECT \(JobRecord.columns) FROM jobs ORDER BY id").map(JobRecord.init(row:))
    }

    /// Direction `d`'s search: numbers that tell directions and cutoffs apart.
    static func direction(_ d: Int) -> ShardDirection {
        ShardDirection(
            direction: d,
            samples: cutoffs.enumerated().map { c, cutoff in
                ShardSample(cutoff: cutoff, radius: Double(d) + 0.5 + Double(c), logEstimate: -Double(10 * d + c),
                            klEvaluations: 3 + c)
            },
            nonfinite: d % 2, exponent: 2.25)
    }

    /// What a worker computed for `job`: `none` over its directions, `adam` skipped.
    static func results(_ job: ClaimedJob, seconds: Double = 1) -> [ShardResult] {
        [ShardResult(preconditioner: "none", preconditionerParams: "",
                     outcome: .computed(seconds: seconds, directions: job.directions(of: 8).map(direction))),
         ShardResult(preconditioner: "adam", preconditionerParams: "eps=0.001,exponent=0.5",
                     outcome: .skipped(reason: "no optimizer state"))]
    }

    /// The estimate rows a daemon would make of the merged results (one computed row per cutoff
    /// of `none`, whose log-volume sums the directions' log-estimates; one skipped row for adam).
    static func estimates(_ merged: [ShardResult]) -> [EstimateRecord] {
        merged.flatMap { result -> [EstimateRecord] in
            switch result.outcome {
            case .skipped(let reason):
                var record = Records.skipped()
                record.outcome = .skipped(reason: reason)
                return [record]
            case .computed(let seconds, let directions):
                return cutoffs.indices.map { c in
                    var record = Records.computed(cutoff: cutoffs[c], logVolume: directions.reduce(0) { $0 + $1.samples[c].logEstimate })
                    if case .computed(var numbers) = record.outcome {
                        numbers.seconds = seconds
                        numbers.samples = directions.map {
                            SampleRecord(direction: $0.direction, radius: $0.samples[c].radius,
                                         logEstimate: $0.samples[c].logEstimate, klEvaluations: $0.samples[c].klEvaluations)
                        }
                        record.outcome = .computed(numbers)
                    }
                    return record
                }
            }
        }
    }

    static func count(_ table: String, _ connection: Connection) async throws -> Int {
        try #require(try await connection.query("SELECT count(*) AS n FROM \(table)").first).decode(Int.self, column: "n")
    }
}

/// Counts aggregations and keeps what they were given.
private final class Aggregations: Sendable {
    private let calls = Mutex<[[ShardResult]]>([])
    func record(_ merged: [ShardResult]) { calls.withLock { $0.append(merged) } }
    var all: [[ShardResult]] { calls.withLock { $0 } }
}

extension PostgresTests {
    @Suite struct ShardQueueTests {
        @Test func enqueueMakesOneJobPerShardOnceWhateverTheLaterLayout() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let queue = JobQueue(connection: connection)
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                let jobs = try await Shards.enqueue(queue, checkpoint.id)
                #expect(jobs.map(\.shard) == [0, 1, 2])
                #expect(jobs.allSatisfy { $0.shards == 3 && $0.state == .queued })
                #expect(jobs.map(\.firstDirection) == [0, 3, 6])
                #expect(jobs.map(\.directionCount) == [3, 3, 2])
                // Another layout for the same estimate (a reload with another shard_directions) adds nothing.
                let again = try await queue.enqueue(checkpointID: checkpoint.id, settings: Shards.settings, settingsKey: "k1",
                                                    shards: [0..<4, 4..<8])
                #expect(!again.inserted)
                #expect(again.job.id == jobs[0].id)
                #expect(try await Shards.jobs(connection).count == 3)
                // Without shards: one job for every direction.
                let whole = try await queue.enqueue(checkpointID: checkpoint.id, settings: Shards.settings, settingsKey: "k2")
                #expect(whole.inserted && whole.job.shards == 1 && whole.job.directionCount == nil)
            }
        }

        @Test func concurrentWorkersClaimDifferentShards() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                let jobs = try await Shards.enqueue(JobQueue(connection: connection), checkpoint.id)
                var queues: [JobQueue] = []
                for _ in 0..<4 { queues.append(JobQueue(connection: try await cluster.connect())) }
                let claimed = try await withThrowingTaskGroup(of: ClaimedJob?.self) { group in
                    for (index, queue) in queues.enumerated() {
                        group.addTask { try await queue.claim(owner: "worker-\(index)", leaseSeconds: 60) }
                    }
                    return try await group.reduce(into: [ClaimedJob]()) { if let job = $1 { $0.append(job) } }
                }
                #expect(claimed.map(\.id).sorted() == jobs.map(\.id))
                #expect(Set(claimed.map(\.shard)) == [0, 1, 2])
                #expect(claimed.first { $0.shard == 2 }?.directions(of: 8) == 6..<8)
            }
        }

        @Test func theLastShardToFinishAggregatesEveryDirectionOnce() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let listener = try await cluster.connect()
                try await listener.listen(JobQueue.notificationChannel)
                let queue = JobQueue(connection: connection)
                let store = ResultStore(connection: connection)
                let checkpoint = try await Records.checkpoint(store)
                _ = try await Shards.enqueue(queue, checkpoint.id)
                var claimed: [ClaimedJob] = []
                for index in 0..<3 { claimed.append(try #require(try await queue.claim(owner: "w\(index)", leaseSeconds: 60))) }
                let aggregations = Aggregations()
                // Finishing out of order: shard 2, then 0, then 1.
                for (step, index) in [2, 0, 1].enumerated() {
                    let job = claimed[index]
                    let inserted = try await queue.complete(job, results: Shards.results(job, seconds: Double(index + 1))) { merged in
                        aggregations.record(merged)
                        return Shards.estimates(merged)
                    }
                    #expect(inserted == (step == 2 ? 3 : 0))
                    if step < 2 {
                        #expect(try await listener.nextNotification(timeout: .milliseconds(50)) == nil)
                        #expect(try await Shards.count("estimates", connection) == 0)
                    }
                }
                #expect(aggregations.all.count == 1)
                let merged = try #require(aggregations.all.first)
                #expect(merged.map(\.preconditionerName) == ["none", "adam:eps=0.001,exponent=0.5"])
                guard case .computed(let seconds, let directions) = merged.first?.outcome else { Issue.record("none not computed"); return }
                #expect(seconds == 6)
                #expect(directions == (0..<8).map(Shards.direction))
                #expect(merged.last?.outcome == .skipped(reason: "no optimizer state"))

                let stored = try await store.estimates(checkpointID: checkpoint.id)
                #expect(stored.map(\.record) == Shards.estimates(merged))
                #expect(try await listener.nextNotification(timeout: .seconds(10))?.payload == String(checkpoint.id))
                // The shards' own rows are gone once the estimate is written; the jobs are done.
                #expect(try await Shards.count("shard_outcomes", connection) == 0)
                #expect(try await Shards.count("shard_preconditioners", connection) == 0)
                let jobs = try await Shards.jobs(connection)
                #expect(jobs.allSatisfy { $0.state == .done })
                #expect(jobs.map(\.directionsDone) == [3, 3, 2])
                #expect(jobs.allSatisfy { $0.skipReasons == #"{"adam:eps=0.001,exponent=0.5": "no optimizer state"}"# })
                // A retried commit of a finished shard changes nothing.
                #expect(try await queue.complete(claimed[1], results: Shards.results(claimed[1])) { _ in
                    Issue.record("aggregated twice")
                    return []
                } == 0)
            }
        }

        @Test func twoShardsFinishingAtOnceAggregateExactlyOnce() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                let queue = JobQueue(connection: connection)
                _ = try await Shards.enqueue(queue, checkpoint.id)
                let first = try #require(try await queue.claim(owner: "w0", leaseSeconds: 60))
                _ = try await queue.complete(first, results: Shards.results(first)) { _ in [] }
                var queues: [JobQueue] = []
                var jobs: [ClaimedJob] = []
                for index in 1...2 {
                    let other = JobQueue(connection: try await cluster.connect())
                    queues.append(other)
                    jobs.append(try #require(try await other.claim(owner: "w\(index)", leaseSeconds: 60)))
                }
                let aggregations = Aggregations()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (queue, job) in zip(queues, jobs) {
                        group.addTask {
                            _ = try await queue.complete(job, results: Shards.results(job)) { merged in
                                aggregations.record(merged)
                                return Shards.estimates(merged)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(aggregations.all.count == 1)
                #expect(try await Shards.count("estimates", connection) == 3)
                #expect(try await Shards.count("estimate_samples", connection) == 16)
            }
        }

        @Test func anExpiredLeaseRerunsOnlyThatShard() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let queue = JobQueue(connection: connection)
                let store = ResultStore(connection: connection)
                let checkpoint = try await Records.checkpoint(store)
                _ = try await Shards.enqueue(queue, checkpoint.id)
                let done = try #require(try await queue.claim(owner: "a", leaseSeconds: 60))
                let killed = try #require(try await queue.claim(owner: "b", leaseSeconds: 60))
                try await queue.heartbeat(killed, leaseSeconds: 60, progress: ShardProgress(done: 2, total: 3))
                _ = try await queue.complete(done, results: Shards.results(done)) { _ in [] }
                try await Records.expireLeases(connection)
                // The killed worker's shard comes back first (lowest id); the done one never does.
                let rerun = try #require(try await queue.claim(owner: "c", leaseSeconds: 60))
                #expect(rerun.id == killed.id && rerun.attempt == 2)
                let progress = try #require(try await queue.job(id: rerun.id))
                #expect(progress.directionsDone == 0 && progress.directionsTotal == nil, "a new attempt starts its progress over")
                let last = try #require(try await queue.claim(owner: "d", leaseSeconds: 60))
                #expect(last.shard == 2)
                #expect(try await queue.claim(owner: "e", leaseSeconds: 60) == nil)
                _ = try await queue.complete(last, results: Shards.results(last)) { _ in [] }
                let aggregations = Aggregations()
                _ = try await queue.complete(rerun, results: Shards.results(rerun)) { merged in
                    aggregations.record(merged)
                    return Shards.estimates(merged)
                }
                guard case .computed(_, let directions) = aggregations.all.first?.first?.outcome else { Issue.record("no aggregation"); return }
                #expect(directions.map(\.direction) == Array(0..<8))
            }
        }

        @Test func badInputFailsTheQueuedShardsAndRetryRequeuesTheEstimatesFailedShards() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let queue = JobQueue(connection: connection)
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                let jobs = try await Shards.enqueue(queue, checkpoint.id)
                let first = try #require(try await queue.claim(owner: "a", leaseSeconds: 60))
                _ = try await queue.complete(first, results: Shards.results(first)) { _ in [] }
                let second = try #require(try await queue.claim(owner: "a", leaseSeconds: 60))
                #expect(try await queue.fail(second, code: "checkpoint.malformed", message: "bad header", retryable: false) == .failed)
                let after = try await Shards.jobs(connection)
                #expect(after.map(\.state) == [.done, .failed, .failed])
                #expect(after[2].errorCode == "checkpoint.malformed" && after[2].lastError == "bad header")
                #expect(try await queue.claim(owner: "b", leaseSeconds: 60) == nil)

                // Retrying any shard of the estimate re-queues its failed shards; the done one stays done.
                #expect(try await queue.retry(jobIDs: [jobs[0].id]) == [jobs[1].id, jobs[2].id])
                #expect(try await Shards.jobs(connection).map(\.state) == [.done, .queued, .queued])
                for _ in 0..<2 {
                    let job = try #require(try await queue.claim(owner: "c", leaseSeconds: 60))
                    _ = try await queue.complete(job, results: Shards.results(job)) { Shards.estimates($0) }
                }
                #expect(try await Shards.count("estimates", connection) == 3)
            }
        }

        @Test func aRetryableFailureRequeuesOnlyThatShard() async throws {
            try await withQueueOf(shards: true) { queue in
                let job = try #require(try await queue.claim(owner: "a", leaseSeconds: 60))
                #expect(try await queue.fail(job, code: "job.error", message: "out of memory") == .queued)
                #expect(try await Shards.jobs(queue.connection).map(\.state) == [.queued, .queued, .queued])
            }
        }

        @Test func runningEstimatesShowDirectionsDoneOfTheWholeEstimate() async throws {
            try await withQueueOf(shards: true) { queue in
                let store = ResultStore(connection: queue.connection)
                #expect(try await store.runningEstimates().isEmpty)
                let first = try #require(try await queue.claim(owner: "a", leaseSeconds: 60))
                let second = try #require(try await queue.claim(owner: "b", leaseSeconds: 60))
                // Shard 0: done with `none` (3 directions; adam skipped). Shard 1: 2 of its 3 done.
                _ = try await queue.complete(first, results: Shards.results(first)) { _ in [] }
                try await queue.heartbeat(second, leaseSeconds: 60, progress: ShardProgress(done: 2, total: 3))
                let running = try #require(try await store.runningEstimates().first)
                #expect(running.directions == 8)
                #expect(running.shards == 3 && running.shardsDone == 1 && running.shardsRunning == 1 && running.shardsQueued == 1)
                #expect(running.directionsDone == 5)
                #expect(running.directionsTotal == 8, "one search per direction: the 6 known scale to all 8")
                #expect(running.startedAt != nil && running.elapsed != nil)
                #expect(running.run == "run-a" && running.step == 100)
            }
        }
    }
}

/// A migrated database with a checkpoint and, with `shards`, its estimate enqueued in shards.
private func withQueueOf(shards: Bool, _ body: (JobQueue) async throws -> Void) async throws {
    try await withCluster { cluster in
        let connection = try await cluster.migratedConnection()
        let queue = JobQueue(connection: connection)
        let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
        if shards { _ = try await Shards.enqueue(queue, checkpoint.id) }
        try await body(queue)
    }
}
