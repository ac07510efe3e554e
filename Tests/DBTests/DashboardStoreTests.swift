import Foundation
import Testing
@testable import DB

extension PostgresTests {
    @Suite struct DashboardStoreTests {
        /// Three runs (two named `beta`) in the states the pages must show plainly:
        /// - `alpha`: steps 100 and 200, step 200 in two versions, and a checkpoint without a
        ///   step; series `none` (eval data abc), `none` with eval data def (only on step 200's
        ///   newer version), `adam` (step 100 only), `none` seed 7 (step-less checkpoint only),
        ///   and a skipped `fisher` on step 100. Every job done.
        /// - `beta` (1): two step-less versions; one job failed once and re-queued.
        /// - `beta` (2): steps 10 (job out of attempts) and 20 (job running).
        struct Fixture {
            let alpha: RunRecord, beta1: RunRecord, beta2: RunRecord
            let step100: CheckpointRecord, step200Old: CheckpointRecord, step200New: CheckpointRecord
            let alphaStepless: CheckpointRecord
            let beta1Stepless: CheckpointRecord, beta1SteplessNew: CheckpointRecord
            let beta2Step10: CheckpointRecord, beta2Step20: CheckpointRecord
            let retriedJobID: Int64, failedJobID: Int64

            static let otherEval = "eval-sha256:def"
            static let adamParams = "eps=0.001,exponent=0.5"

            static func make(_ connection: Connection) async throws -> Fixture {
                let store = ResultStore(connection: connection)
                let queue = JobQueue(connection: connection)
                let alpha = try await store.upsertRun(name: "alpha", path: "/watch/alpha")
                let beta1 = try await store.upsertRun(name: "beta", path: "/watch/beta-1")
                let beta2 = try await store.upsertRun(name: "beta", path: "/watch/beta-2")
                func checkpoint(_ run: RunRecord, _ step: Int64?, _ fingerprint: String) async throws -> CheckpointRecord {
                    try await store.upsertCheckpoint(
                        runID: run.id, step: step, path: run.path + "/" + (step.map { "checkpoint-\($0)" } ?? "model"),
                        fingerprint: fingerprint
                    ).checkpoint
                }
                func claim(_ checkpoint: CheckpointRecord, maxAttempts: Int = 3) async throws -> ClaimedJob {
                    _ = try await queue.enqueue(
                        checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1", maxAttempts: maxAttempts)
                    let job = try #require(try await queue.claim(owner: "w", leaseSeconds: 600))
                    try #require(job.checkpoint.id == checkpoint.id)
                    return job
                }
                var otherEval = Records.computed(logVolume: -130)
                otherEval.key.evalFingerprint = Self.otherEval

                let step100 = try await checkpoint(alpha, 100, "fp-100")
                try await queue.complete(try await claim(step100), estimates: [
                    Records.computed(logVolume: -100),
                    Records.computed(preconditioner: "adam", params: adamParams, logVolume: -80),
                    Records.skipped(preconditioner: "fisher", params: ""),
                ])
                let step200Old = try await checkpoint(alpha, 200, "fp-200-old")
                try await queue.complete(try await claim(step200Old), estimates: [Records.computed(logVolume: -110)])
                let step200New = try await checkpoint(alpha, 200, "fp-200-new")
                try await queue.complete(try await claim(step200New), estimates: [Records.computed(logVolume: -120), otherEval])
                let alphaStepless = try await checkpoint(alpha, nil, "fp-model")
                try await queue.complete(try await claim(alphaStepless), estimates: [Records.computed(seed: 7, logVolume: -50)])

                let beta2Step10 = try await checkpoint(beta2, 10, "fp-10")
                let failed = try await claim(beta2Step10, maxAttempts: 1)
                try await queue.fail(failed, code: "estimator.nonfinite", message: "the loss is NaN at the anchor")
                // Claimed before beta-1's job is re-queued, so the claims below stay in order.
                let beta2Step20 = try await checkpoint(beta2, 20, "fp-20")
                _ = try await claim(beta2Step20)
                let beta1Stepless = try await checkpoint(beta1, nil, "fp-a")
                let retried = try await claim(beta1Stepless)
                try await queue.fail(retried, code: "checkpoint.read", message: "model.safetensors is truncated")
                let beta1SteplessNew = try await checkpoint(beta1, nil, "fp-b")

                return Fixture(
                    alpha: alpha, beta1: beta1, beta2: beta2,
                    step100: step100, step200Old: step200Old, step200New: step200New, alphaStepless: alphaStepless,
                    beta1Stepless: beta1Stepless, beta1SteplessNew: beta1SteplessNew,
                    beta2Step10: beta2Step10, beta2Step20: beta2Step20,
                    retriedJobID: retried.id, failedJobID: failed.id)
            }
        }

        @Test func overviewListsRunsByNameThenIdWithCountsAndLatestSteps() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                let overview = try await DashboardStore(connection: connection).overview()

                #expect(overview.runs.map(\.run) == [fixture.alpha, fixture.beta1, fixture.beta2])
                #expect(overview.runs.map(\.checkpoints) == [4, 2, 2])
                #expect(overview.runs.map(\.latestStep) == [200, nil, 20])
                #expect(overview.runs.map(\.jobs) == [
                    QueueCounts(done: 4), QueueCounts(queued: 1), QueueCounts(running: 1, failed: 1),
                ])
                #expect(overview.queue == QueueCounts(queued: 1, running: 1, done: 4, failed: 1))
                #expect(overview.queue == (try await ResultStore(connection: connection).queueCounts()))
            }
        }

        @Test func overviewLatestTakesTheNewestVersionOfTheNewestStepPerSeries() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                let overview = try await DashboardStore(connection: connection).overview()
                let latest = try #require(overview.runs.first).latest

                var otherEval = Records.key(); otherEval.evalFingerprint = Fixture.otherEval
                let expected = [
                    // Ordered by preconditioner, parameters, cutoff, then eval data, …, seed.
                    LatestVolume(key: Records.key(preconditioner: "adam", params: Fixture.adamParams),
                                 checkpointID: fixture.step100.id, step: 100, log10Volume: -80 / log(10),
                                 previousCheckpointID: nil, previousStep: nil, previousLog10Volume: nil),
                    // Step 200's newer version (-120), not the older one (-110), against step 100.
                    LatestVolume(key: Records.key(), checkpointID: fixture.step200New.id, step: 200, log10Volume: -120 / log(10),
                                 previousCheckpointID: fixture.step100.id, previousStep: 100, previousLog10Volume: -100 / log(10)),
                    // A series only the step-less checkpoint has.
                    LatestVolume(key: Records.key(seed: 7), checkpointID: fixture.alphaStepless.id, step: nil, log10Volume: -50 / log(10),
                                 previousCheckpointID: nil, previousStep: nil, previousLog10Volume: nil),
                    // Differs from the second only by its eval data: a series of its own.
                    LatestVolume(key: otherEval, checkpointID: fixture.step200New.id, step: 200, log10Volume: -130 / log(10),
                                 previousCheckpointID: nil, previousStep: nil, previousLog10Volume: nil),
                ]
                #expect(latest == expected)
                let change = try #require(latest[1].change)
                #expect(abs(change - (-20 / log(10))) < 1e-12)
                #expect(latest[0].change == nil)
                #expect(overview.runs.dropFirst().allSatisfy { $0.latest.isEmpty })
            }
        }

        @Test func overviewListsTheLastFailuresWithTheirRunAndCheckpoint() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                let store = DashboardStore(connection: connection)
                let failures = try await store.overview().failures
                #expect(failures.map(\.jobID) == [fixture.retriedJobID, fixture.failedJobID])
                #expect(failures.map(\.state) == [.queued, .failed])
                #expect(failures.map(\.runID) == [fixture.beta1.id, fixture.beta2.id])
                #expect(failures.map(\.run) == ["beta", "beta"])
                #expect(failures.map(\.checkpointID) == [fixture.beta1Stepless.id, fixture.beta2Step10.id])
                #expect(failures.map(\.step) == [nil, 10])
                #expect(failures.map(\.errorCode) == ["checkpoint.read", "estimator.nonfinite"])
                #expect(failures.map(\.lastError) == ["model.safetensors is truncated", "the loss is NaN at the anchor"])
                #expect(try await store.overview(failureLimit: 1).failures.map(\.jobID) == [fixture.retriedJobID])
            }
        }

        @Test func runDetailHasEveryCheckpointAndOnePointPerComputedEstimate() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                let detail = try #require(try await DashboardStore(connection: connection).run(id: fixture.alpha.id))
                #expect(detail.run == fixture.alpha)
                // By step, the step-less one last; both versions of step 200, oldest first.
                #expect(detail.checkpoints == [fixture.step100, fixture.step200Old, fixture.step200New, fixture.alphaStepless])
                #expect(detail.jobs == QueueCounts(done: 4))

                // By series, then step; the skipped fisher is not plotted.
                let points = detail.points
                #expect(points.map(\.key.preconditioner) == ["adam", "none", "none", "none", "none", "none"])
                #expect(points.map(\.checkpointID) == [
                    fixture.step100.id,
                    fixture.step100.id, fixture.step200Old.id, fixture.step200New.id,
                    fixture.alphaStepless.id,
                    fixture.step200New.id,
                ])
                #expect(points.map(\.step) == [100, 100, 200, 200, nil, 200])
                #expect(points.map(\.log10Volume) == [-80, -100, -110, -120, -50, -130].map { Double?($0 / log(10)) })
                #expect(points.map(\.intervalLow) == [-82, -102, -112, -122, -52, -132])
                #expect(points.map(\.intervalHigh) == [-79.25, -99.25, -109.25, -119.25, -49.25, -129.25])
                #expect(Set(points.map(\.key)).count == 4)
                #expect(points.last?.key.evalFingerprint == Fixture.otherEval)
                #expect(points[3].key.evalFingerprint == "eval-sha256:abc")

                // Each point is its stored estimate.
                let stored = try await ResultStore(connection: connection).estimates(checkpointID: fixture.step200New.id)
                #expect(points.last?.estimateID == stored.last?.id)
                #expect(points.last?.createdAt == stored.last?.createdAt)
            }
        }

        @Test func runDetailCountsOnlyThatRunsJobs() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                let store = DashboardStore(connection: connection)
                let beta2 = try #require(try await store.run(id: fixture.beta2.id))
                #expect(beta2.checkpoints == [fixture.beta2Step10, fixture.beta2Step20])
                #expect(beta2.points.isEmpty)
                #expect(beta2.jobs == QueueCounts(running: 1, failed: 1))
                let beta1 = try #require(try await store.run(id: fixture.beta1.id))
                #expect(beta1.checkpoints == [fixture.beta1Stepless, fixture.beta1SteplessNew])
                #expect(beta1.jobs == QueueCounts(queued: 1))
            }
        }

        @Test func checkpointDetailHasItsRunOtherVersionsEstimatesAndJobs() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                let store = DashboardStore(connection: connection)

                let detail = try #require(try await store.checkpoint(id: fixture.step100.id))
                #expect(detail.checkpoint == fixture.step100)
                #expect(detail.run == fixture.alpha)
                #expect(detail.otherVersions.isEmpty)
                // Skipped estimates are listed here, with their samples-less record.
                #expect(detail.estimates == (try await ResultStore(connection: connection).estimates(checkpointID: fixture.step100.id)))
                #expect(detail.estimates.map(\.record.key.preconditioner) == ["none", "adam", "fisher"])
                #expect(detail.estimates[2].record.outcome == .skipped(reason: "no optimizer state (optimizer.pt missing)"))
                guard case .computed(let result) = detail.estimates[0].record.outcome else {
                    Issue.record("the first estimate is not computed")
                    return
                }
                #expect(result.samples.map(\.direction) == [0, 1, 2])
                #expect(result.samples.first?.logEstimate == -101)

                let job = try #require(detail.jobs.first)
                #expect(detail.jobs.count == 1)
                #expect(job.state == .done)
                #expect(job.attempts == 1 && job.maxAttempts == 3)
                #expect(job.skipReasons == ["fisher": "no optimizer state (optimizer.pt missing)"])
                #expect(job.errorCode == nil && job.lastError == nil)
                #expect(job.finishedAt != nil)
                #expect(detail.estimates.allSatisfy { $0.jobID == job.id })
            }
        }

        @Test func checkpointDetailListsTheOtherVersionsOfItsStep() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                let store = DashboardStore(connection: connection)
                #expect(try await store.checkpoint(id: fixture.step200Old.id)?.otherVersions == [fixture.step200New])
                #expect(try await store.checkpoint(id: fixture.step200New.id)?.otherVersions == [fixture.step200Old])
                // Step-less checkpoints are versions of each other, within their run only.
                #expect(try await store.checkpoint(id: fixture.beta1Stepless.id)?.otherVersions == [fixture.beta1SteplessNew])
                #expect(try await store.checkpoint(id: fixture.alphaStepless.id)?.otherVersions == [])
            }
        }

        @Test func checkpointDetailShowsAFailedAttempt() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                let detail = try #require(try await DashboardStore(connection: connection).checkpoint(id: fixture.beta1Stepless.id))
                #expect(detail.run == fixture.beta1)
                #expect(detail.estimates.isEmpty)
                let job = try #require(detail.jobs.first)
                #expect(job.id == fixture.retriedJobID)
                #expect(job.state == .queued)
                #expect(job.attempts == 1)
                #expect(job.errorCode == "checkpoint.read")
                #expect(job.lastError == "model.safetensors is truncated")
                #expect(job.skipReasons == [:])
                #expect(job.finishedAt == nil)
            }
        }

        @Test func unknownIdsGiveNil() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                let store = DashboardStore(connection: connection)
                #expect(try await store.run(id: 999_999) == nil)
                #expect(try await store.checkpoint(id: 999_999) == nil)
                #expect(try await store.runID(checkpointID: 999_999) == nil)
                #expect(try await store.runID(checkpointID: fixture.step200New.id) == fixture.alpha.id)
                #expect(try await store.runID(checkpointID: fixture.beta1SteplessNew.id) == fixture.beta1.id)
            }
        }

        @Test func estimateCountsSplitComputedAndSkipped() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let store = DashboardStore(connection: connection)
                #expect(try await store.estimateCounts() == EstimateCounts(computed: 0, skipped: 0))
                _ = try await Fixture.make(connection)
                #expect(try await store.estimateCounts() == EstimateCounts(computed: 6, skipped: 1))
            }
        }

        @Test func anEmptyStoreHasAnEmptyOverview() async throws {
            try await withCluster { cluster in
                let store = DashboardStore(connection: try await cluster.migratedConnection())
                #expect(try await store.overview() == DashboardOverview(runs: [], queue: QueueCounts(), failures: []))
            }
        }

        @Test func skipReasonsThatAreNotAnObjectOfStringsAreADecodeError() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let fixture = try await Fixture.make(connection)
                try await connection.execute(
                    "UPDATE jobs SET skip_reasons = '{\"fisher\": 3}' WHERE checkpoint_id = $1", [fixture.step100.id])
                let error = await #expect(throws: DatabaseError.self) {
                    try await DashboardStore(connection: connection).checkpoint(id: fixture.step100.id)
                }
                #expect(error?.code == "db.decode")
            }
        }
    }
}
