import Foundation
import Testing
@testable import DB

/// A migrated cluster with a queue and a store on one connection.
private func withQueue(_ body: (TestCluster, JobQueue, ResultStore) async throws -> Void) async throws {
    try await withCluster { cluster in
        let connection = try await cluster.migratedConnection()
        try await body(cluster, JobQueue(connection: connection), ResultStore(connection: connection))
    }
}

private func estimateCount(_ connection: Connection) async throws -> Int {
    try #require(try await connection.query("SELECT count(*) AS n FROM estimates").first).decode(Int.self, column: "n")
}

extension PostgresTests {
    @Suite struct JobQueueTests {
        @Test func enqueueIsIdempotent() async throws {
            try await withQueue { _, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                let first = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let again = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                #expect(first.inserted)
                #expect(!again.inserted)
                #expect(again.job.id == first.job.id)
                #expect(first.job.state == .queued)
                #expect(first.job.attempts == 0)
                #expect(first.job.maxAttempts == 3)
                let other = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings("k2"), settingsKey: "k2")
                #expect(other.inserted)
                #expect(other.job.id != first.job.id)
            }
        }

        @Test func claimLeasesTheOldestJobWithItsCheckpoint() async throws {
            try await withQueue { _, queue, store in
                let first = try await Records.checkpoint(store, step: 100)
                let second = try await Records.checkpoint(store, step: 200, fingerprint: "fp-2")
                let job1 = try await queue.enqueue(checkpointID: first.id, settings: Records.settings(), settingsKey: "k1").job
                let job2 = try await queue.enqueue(checkpointID: second.id, settings: Records.settings(), settingsKey: "k1").job

                let claimed = try #require(try await queue.claim(owner: "worker-a", leaseSeconds: 60))
                #expect(claimed.id == job1.id)
                #expect(claimed.attempt == 1)
                #expect(claimed.owner == "worker-a")
                #expect(claimed.checkpoint == first)
                #expect(claimed.run.name == "run-a")
                #expect(claimed.run.path == "/watch/run-a")
                #expect(claimed.settingsKey == "k1")
                #expect(claimed.settings.contains("\"preconditioners\""))
                #expect(claimed.leaseExpiresAt > Date().addingTimeInterval(30))

                let row = try #require(try await queue.job(id: job1.id))
                #expect(row.state == .running)
                #expect(row.leaseOwner == "worker-a")

                #expect(try await queue.claim(owner: "worker-b", leaseSeconds: 60)?.id == job2.id)
                #expect(try await queue.claim(owner: "worker-c", leaseSeconds: 60) == nil)
            }
        }

        @Test func completeStoresEstimatesSamplesAndSkipsInOneStep() async throws {
            try await withQueue { _, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                let job = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1").job
                let claimed = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                let records = [Records.computed(), Records.infinite(), Records.skipped()]
                #expect(try await queue.complete(claimed, estimates: records) == 3)

                let stored = try await store.estimates(checkpointID: checkpoint.id)
                #expect(stored.map(\.record) == records)
                #expect(stored.allSatisfy { $0.jobID == job.id && $0.checkpointID == checkpoint.id })

                let done = try #require(try await queue.job(id: job.id))
                #expect(done.state == .done)
                #expect(done.finishedAt != nil)
                #expect(done.leaseExpiresAt == nil)
                #expect(done.skipReasons == #"{"adam:eps=0.001,exponent=0.5": "no optimizer state (optimizer.pt missing)"}"#)

                let keys = try await store.existingEstimateKeys(checkpointID: checkpoint.id)
                #expect(keys == Set(records.map(\.key)))
            }
        }

        @Test func sameEstimateKeyIsStoredOnce() async throws {
            try await withQueue { cluster, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings("k1"), settingsKey: "k1")
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings("k2"), settingsKey: "k2")
                let first = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                let second = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                #expect(try await queue.complete(first, estimates: [Records.computed(logVolume: -10)]) == 1)
                #expect(try await queue.complete(second, estimates: [Records.computed(logVolume: -20), Records.computed(cutoff: 0.1)]) == 1)
                let stored = try await store.estimates(checkpointID: checkpoint.id)
                #expect(stored.count == 2)
                guard case .computed(let kept) = stored[0].record.outcome else { Issue.record("not computed"); return }
                #expect(kept.logVolume == -10)
                #expect(try await estimateCount(queue.connection) == 2)
                _ = cluster
            }
        }

        @Test func completingTwiceUnderTheSameLeaseIsHarmless() async throws {
            try await withQueue { _, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let claimed = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                #expect(try await queue.complete(claimed, estimates: [Records.computed()]) == 1)
                // As when a commit succeeded but its reply was lost and the call is retried.
                #expect(try await queue.complete(claimed, estimates: [Records.computed()]) == 0)
                #expect(try await estimateCount(queue.connection) == 1)
            }
        }

        @Test func rowsViolatingTheComputedOrSkippedRuleAreRejected() async throws {
            try await withQueue { _, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let claimed = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                // A finite volume is required unless some direction is unbounded.
                var bad = Records.infinite()
                if case .computed(var result) = bad.outcome {
                    result.unbounded = 0
                    bad.outcome = .computed(result)
                }
                let error = await #expect(throws: DatabaseError.self) {
                    try await queue.complete(claimed, estimates: [Records.computed(), bad])
                }
                #expect(error?.sqlState == "23514")
                #expect(error?.message.contains("estimates_infinite_needs_unbounded") == true)
                // Nothing of the failed completion was kept; the job is still leased.
                #expect(try await estimateCount(queue.connection) == 0)
                #expect(try await queue.job(id: claimed.id)?.state == .running)

                let skippedWithResult = await #expect(throws: DatabaseError.self) {
                    try await queue.connection.execute(
                        """
                        INSERT INTO estimates (checkpoint_id, eval_fingerprint, cutoff, preconditioner, prior,
                            prior_center, sigma_rule, directions, seed, tolerance, software_version, skipped, log_volume)
                        VALUES ($1, 'e', 0.01, 'adam', 'gaussian', 'zero', 'rms', 3, 0, 0.01, 'v', 'no state', -5)
                        """,
                        [checkpoint.id]
                    )
                }
                #expect(skippedWithResult?.sqlState == "23514")
            }
        }

        @Test func failedAttemptsAreRetriedUntilMaxAttemptsThenKept() async throws {
            try await withQueue { _, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                let job = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1", maxAttempts: 3).job
                var states: [JobState] = []
                for attempt in 1...3 {
                    let claimed = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                    #expect(claimed.attempt == attempt)
                    states.append(try await queue.fail(claimed, code: "safetensors.truncated", message: "model.safetensors: truncated at byte \(attempt)"))
                }
                #expect(states == [.queued, .queued, .failed])
                #expect(try await queue.claim(owner: "w", leaseSeconds: 60) == nil)

                let failed = try #require(try await queue.job(id: job.id))
                #expect(failed.state == .failed)
                #expect(failed.attempts == 3)
                #expect(failed.errorCode == "safetensors.truncated")
                #expect(failed.lastError == "model.safetensors: truncated at byte 3")
                #expect(failed.finishedAt != nil)

                let failures = try await store.recentFailures()
                #expect(failures.map(\.jobID) == [job.id])
                #expect(failures.first?.lastError == "model.safetensors: truncated at byte 3")
                #expect(failures.first?.checkpointPath == checkpoint.path)
                #expect(try await store.queueCounts() == QueueCounts(failed: 1))

                #expect(try await queue.retry(jobIDs: [job.id, 999_999]) == [job.id])
                let requeued = try #require(try await queue.job(id: job.id))
                #expect(requeued.state == .queued)
                #expect(requeued.attempts == 0)
                #expect(try await queue.retry(jobIDs: [job.id]).isEmpty)
                let again = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                #expect(again.attempt == 1)
            }
        }

        @Test func nonRetryableFailureFailsAtOnceAndRetryAllRequeuesIt() async throws {
            try await withQueue { _, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                let job = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1").job
                let claimed = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                #expect(try await queue.fail(claimed, code: "pickle.forbidden", message: "global os.system refused", retryable: false) == .failed)
                #expect(try await queue.retryAllFailed() == [job.id])
                #expect(try await queue.job(id: job.id)?.state == .queued)
            }
        }

        @Test func releaseReturnsTheJobWithoutCountingTheAttempt() async throws {
            try await withQueue { _, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                let job = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1").job
                let claimed = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                try await queue.release(claimed)
                try await queue.release(claimed)  // a retried release is harmless
                let released = try #require(try await queue.job(id: job.id))
                #expect(released.state == .queued)
                #expect(released.attempts == 0)
                #expect(released.leaseExpiresAt == nil)
                #expect(try await queue.claim(owner: "w2", leaseSeconds: 60)?.attempt == 1)
            }
        }

        @Test func heartbeatExtendsTheLease() async throws {
            try await withQueue { _, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let claimed = try #require(try await queue.claim(owner: "w", leaseSeconds: 5))
                let extended = try await queue.heartbeat(claimed, leaseSeconds: 600)
                #expect(extended > claimed.leaseExpiresAt.addingTimeInterval(500))
                #expect(try await queue.job(id: claimed.id)?.leaseExpiresAt == extended)
            }
        }

        @Test func workerWhoseLeaseWasTakenOverCannotFinishTheJob() async throws {
            try await withCluster { cluster in
                let connectionA = try await cluster.migratedConnection()
                let queueA = JobQueue(connection: connectionA)
                let queueB = JobQueue(connection: try await cluster.connect())
                let store = ResultStore(connection: connectionA)
                let checkpoint = try await Records.checkpoint(store)
                _ = try await queueA.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")

                let slow = try #require(try await queueA.claim(owner: "worker-a", leaseSeconds: 60))
                #expect(try await queueB.claim(owner: "worker-b", leaseSeconds: 60) == nil, "the lease still holds")
                try await Records.expireLeases(connectionA)
                let takeover = try #require(try await queueB.claim(owner: "worker-b", leaseSeconds: 60))
                #expect(takeover.id == slow.id)
                #expect(takeover.attempt == 2)

                for attempt in 0..<4 {
                    let error = await #expect(throws: DatabaseError.self) {
                        switch attempt {
                        case 0: try await queueA.complete(slow, estimates: [Records.computed(logVolume: -1)])
                        case 1: try await queueA.heartbeat(slow, leaseSeconds: 60)
                        case 2: try await queueA.fail(slow, code: "x", message: "late")
                        default: try await queueA.release(slow)
                        }
                    }
                    #expect(error?.code == "db.lease_lost")
                    #expect(error?.message.contains("worker-b") == true)
                }
                #expect(try await queueB.complete(takeover, estimates: [Records.computed(logVolume: -2)]) == 1)
                let stored = try await store.estimates(checkpointID: checkpoint.id)
                #expect(stored.count == 1)
                guard case .computed(let result) = stored.first?.record.outcome else { Issue.record("not computed"); return }
                #expect(result.logVolume == -2)
            }
        }

        @Test func expiredLeaseOnTheLastAttemptFailsTheJob() async throws {
            try await withQueue { _, queue, store in
                let checkpoint = try await Records.checkpoint(store)
                let job = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1", maxAttempts: 1).job
                _ = try #require(try await queue.claim(owner: "vanished", leaseSeconds: 60))
                #expect(try await store.queueCounts() == QueueCounts(running: 1))
                try await Records.expireLeases(queue.connection)
                #expect(try await store.queueCounts() == QueueCounts(running: 1, expiredLeases: 1))
                #expect(try await queue.claim(owner: "next", leaseSeconds: 60) == nil)
                let failed = try #require(try await queue.job(id: job.id))
                #expect(failed.state == .failed)
                #expect(failed.errorCode == JobQueue.leaseExpiredCode)
                #expect(failed.lastError?.contains("vanished") == true)
            }
        }

        @Test func listenersHearAboutCompletedJobs() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let listener = try await cluster.connect()
                try await listener.listen(JobQueue.notificationChannel)
                let queue = JobQueue(connection: connection)
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let claimed = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                #expect(try await listener.nextNotification(timeout: .milliseconds(50)) == nil)
                try await queue.complete(claimed, estimates: [Records.computed()])
                let notification = try await listener.nextNotification(timeout: .seconds(10))
                #expect(notification?.channel == "volumed_estimates")
                #expect(notification?.payload == String(checkpoint.id))
            }
        }
    }
}
