import Foundation
import Testing
@testable import DB

extension PostgresTests {
    /// LLC estimates: stored once per identity with their traces, read back whole, announced on
    /// `volumed_llc`, and set beside the volume per run, step and eval data.
    @Suite struct LLCStoreTests {
        @Test func storesAnEstimateWithItsTracesAndReadsItBack() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                let store = LLCStore(connection: connection)
                let record = Records.llc()
                let id = try await store.insert(record, checkpointID: checkpoint.id)
                #expect(id != nil)
                // The same identity again stores nothing.
                #expect(try await store.insert(record, checkpointID: checkpoint.id) == nil)

                let stored = try await store.estimates(checkpointID: checkpoint.id)
                #expect(stored.count == 1)
                let back = try #require(stored.first).record
                #expect(back.chains.map(\.losses) == record.chains.map(\.losses))
                #expect(back.chains[0] == record.chains[0])
                #expect(back.chains[1].llc.isNaN)
                #expect(back.chains[1].divergence == LLCRecord.Chain.Divergence(step: 2, kind: "non_finite", loss: .infinity))
                #expect(back.chains[1].flatAfterBurnIn == false)
                var comparable = back
                comparable.chains = record.chains
                comparable.evalData = record.evalData
                #expect(comparable == record)
                let file = try await connection.query("SELECT eval_data->>'file' AS file FROM llc_estimates")
                #expect(try file.first?.decode(String.self, column: "file") == "digits_val.safetensors")

                let samples = try await connection.query("SELECT count(*) AS n FROM llc_samples WHERE llc_estimate_id = $1", [id])
                #expect(try samples.first?.decode(Int.self, column: "n") == 7)
                let row = try await connection.query("SELECT diverged_chains, nbeta_rule, parameters FROM llc_estimates")
                #expect(try row.first?.decode(Int.self, column: "diverged_chains") == 1)
                #expect(try row.first?.decode(String.self, column: "nbeta_rule") == "auto")
                #expect(try row.first?.decode(String.self, column: "parameters") == "")

                // Other settings (another key) are another estimate of the same checkpoint.
                var other = record
                other.settingsKey = "llc-key-2"
                other.epsilon = 1e-4
                #expect(try await store.insert(other, checkpointID: checkpoint.id) != nil)
                #expect(try await store.estimates(checkpointID: checkpoint.id).map(\.record.epsilon) == [1e-3, 1e-4])
            }
        }

        @Test func notifiesWhenAnEstimateCommits() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let listener = try await cluster.connect()
                try await listener.listen(LLCStore.notificationChannel)
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                let id = try #require(try await LLCStore(connection: connection).insert(Records.llc(), checkpointID: checkpoint.id))
                let notification = try #require(try await listener.nextNotification(timeout: .seconds(10)))
                #expect(notification.channel == "volumed_llc")
                #expect(notification.payload == #"{"checkpoint_id" : \#(checkpoint.id), "llc_estimate_id" : \#(id)}"#)
            }
        }

        @Test func anLLCJobIsClaimedCompletedAndCountedApartFromVolumeJobs() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let queue = JobQueue(connection: connection)
                let store = LLCStore(connection: connection)
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let (job, inserted) = try await queue.enqueueLLC(checkpointID: checkpoint.id, settings: #"{"measure": "llc"}"#,
                                                                 settingsKey: "llc-job-key")
                #expect(inserted)
                #expect(try await queue.enqueueLLC(checkpointID: checkpoint.id, settings: #"{"measure": "llc"}"#,
                                                   settingsKey: "llc-job-key") .job.id == job.id)
                #expect(try await queue.enqueueLLC(checkpointID: checkpoint.id, settings: #"{"measure": "llc"}"#,
                                                   settingsKey: "llc-job-key").inserted == false)

                let volume = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                #expect(volume.kind == .volume)
                let llc = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                #expect(llc.kind == .llc)
                #expect(llc.id == job.id)
                try await queue.heartbeat(llc, leaseSeconds: 60, progress: ShardProgress(done: 12, total: 40))
                let running = try await store.running()
                #expect(running.map(\.stepsDone) == [12])
                #expect(running.map(\.stepsTotal) == [40])
                // The volume list of estimates under way leaves LLC jobs out.
                #expect(try await ResultStore(connection: connection).runningEstimates().count == 1)
                #expect(try await store.queueCounts() == QueueCounts(running: 1))

                #expect(try await queue.completeLLC(llc, record: Records.llc()))
                // A retried commit that had succeeded changes nothing.
                #expect(try await queue.completeLLC(llc, record: Records.llc()) == false)
                #expect(try await store.queueCounts() == QueueCounts(done: 1))
                #expect(try await store.estimates(checkpointID: checkpoint.id).map(\.jobID) == [llc.id])
                #expect(try await queue.job(id: volume.id)?.state == .running)
            }
        }

        @Test func aFailedLLCJobLeavesTheVolumeJobAlone() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let queue = JobQueue(connection: connection)
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                let (llcJob, _) = try await queue.enqueueLLC(checkpointID: checkpoint.id, settings: "{}", settingsKey: "llc-job-key")
                _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                let llc = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                #expect(llc.id == llcJob.id)
                #expect(try await queue.fail(llc, code: "llc.diverged", message: "every chain diverged", retryable: false) == .failed)
                let volume = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                #expect(volume.kind == .volume)
                #expect(try await queue.complete(volume, estimates: [Records.computed()]) == 1)
            }
        }

        @Test func theSideBySideViewPutsVolumeAndLLCOnEachStep() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let results = ResultStore(connection: connection)
                let queue = JobQueue(connection: connection)
                let llc = LLCStore(connection: connection)
                for step: Int64 in [0, 100, 200] {
                    let checkpoint = try await Records.checkpoint(results, run: "run-a", step: step, fingerprint: "fp-\(step)")
                    // Volume at steps 0 and 100 (two cutoffs), and a subset volume that must stay out.
                    if step < 200 {
                        _ = try await queue.enqueue(checkpointID: checkpoint.id, settings: Records.settings(), settingsKey: "k1")
                        let job = try #require(try await queue.claim(owner: "w", leaseSeconds: 60))
                        try await queue.complete(job, estimates: [Records.computed(cutoff: 0.01, logVolume: -100 - Double(step)),
                                                                  Records.computed(cutoff: 0.1, logVolume: -50 - Double(step))])
                        try await connection.execute(
                            """
                            INSERT INTO estimates (checkpoint_id, eval_fingerprint, cutoff, preconditioner, prior, prior_center,
                                                   sigma_rule, directions, seed, tolerance, log_volume, log10_volume, bits,
                                                   max_sample, kl_evaluations, unbounded, nonfinite, seconds, software_version,
                                                   parameters)
                            VALUES ($1, 'eval-sha256:abc', 0.01, 'none', 'gaussian', 'zero', 'rms', 3, 0, 0.01, -7, -3, -10,
                                    -6, 1, 0, 0, 1, 'test', 'fc1.*')
                            """, [checkpoint.id])
                    }
                    // LLC at steps 100 and 200, with a subset LLC that must stay out too.
                    if step > 0 {
                        var full = Records.llc()
                        full.mean = Double(step) / 10
                        try await llc.insert(full, checkpointID: checkpoint.id)
                        var subset = Records.llc()
                        subset.parameters = "fc1.*"
                        subset.settingsKey = "llc-subset"
                        subset.mean = -1
                        try await llc.insert(subset, checkpointID: checkpoint.id)
                    }
                }
                let rows = try await connection.query(
                    "SELECT step, cutoff, log_volume, llc_mean FROM volume_and_llc WHERE run = 'run-a' ORDER BY step, cutoff")
                #expect(try rows.map { try $0.decode(Int64.self, column: "step") } == [0, 0, 100, 100, 200])
                #expect(try rows.map { try $0.decode(Double?.self, column: "cutoff") } == [0.01, 0.1, 0.01, 0.1, nil])
                #expect(try rows.map { try $0.decode(Double?.self, column: "log_volume") } == [-100, -50, -200, -150, nil])
                #expect(try rows.map { try $0.decode(Double?.self, column: "llc_mean") } == [nil, nil, 10, 10, 20])

                let series = try await llc.series(runs: ["run-a"])
                #expect(series.map(\.parameters) == ["", "", "fc1.*", "fc1.*"])
                #expect(series.map(\.step) == [100, 200, 100, 200])
                #expect(series.map(\.mean) == [10, 20, -1, -1])
            }
        }

        @Test func perChainArraysMustHaveOneEntryPerChain() async throws {
            try await withCluster { cluster in
                let connection = try await cluster.migratedConnection()
                let checkpoint = try await Records.checkpoint(ResultStore(connection: connection))
                try await LLCStore(connection: connection).insert(Records.llc(), checkpointID: checkpoint.id)
                let error = await #expect(throws: DatabaseError.self) {
                    try await connection.execute("UPDATE llc_estimates SET chains = 3")
                }
                #expect(error?.sqlState == "23514")
            }
        }
    }
}

