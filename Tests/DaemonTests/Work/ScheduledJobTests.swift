import DB
import Estimator
import Foundation
import Testing
@testable import Daemon

/// A job estimates what the scheduler fingerprinted and resolved, or fails saying that the
/// files changed: real files, a real PostgreSQL queue, the worker's own compute step.
@Suite struct ScheduledJobTests {
    /// Schedules the digits run's checkpoint-100 as the scheduler does (4 directions, `none` and
    /// `adam`) and claims its job; `plan: false` enqueues it as versions before `jobs.plan` did.
    private func scheduledJob(_ workspace: ServeWorkspace, _ connection: Connection, plan: Bool = true) async throws -> ClaimedJob {
        let runPath = try workspace.addRun("digits")
        try workspace.addCheckpoint(100, to: "digits")
        let unit = try #require(CheckpointUnit(name: "checkpoint-100", run: "digits", runPath: runPath))
        let snapshot = try #require(CheckpointScanner(root: workspace.watchRoot).inspect(unit).state.snapshot)
        var base = EstimationPlan(preconditioners: [.none, .adam])
        base.settings.directions = 4
        let prepared = Preparation(SettledCheckpoint(unit: unit, snapshot: snapshot), base: base)
        #expect(prepared.fingerprint == "0d4068739edff6847f8f51e1135cdddb78ed76eec76cbdac8874d733be7b4b61")
        #expect(prepared.inputs.contentFiles == ["model.safetensors", "optimizer.pt"])
        #expect(prepared.inputs.evalData?.file == "digits_val.safetensors")

        let store = ResultStore(connection: connection)
        let run = try await store.upsertRun(name: "digits", path: runPath)
        let checkpoint = try await store.upsertCheckpoint(runID: run.id, step: 100, path: unit.path, fingerprint: prepared.fingerprint)
        let settings = JobSettings(prepared.inputs)
        let queue = JobQueue(connection: connection)
        _ = try await queue.enqueue(checkpointID: checkpoint.checkpoint.id, settings: settings.json.serialized(), settingsKey: settings.key,
                                    plan: plan ? prepared.inputs.jobJSON.serialized() : nil)
        return try #require(try await queue.claim(owner: "test", leaseSeconds: 60))
    }

    private func compute(_ job: ClaimedJob) throws -> EstimateWorker.Computed {
        try EstimateWorker.compute(job, existing: [], threads: 1, cache: EstimationCache(), progress: ShardCounter(), stop: StopFlag())
    }

    private func changeCode(_ job: ClaimedJob) -> String? {
        (#expect(throws: CheckpointError.self) { try compute(job) })?.code
    }

    @Test func estimatesWhatWasScheduled() async throws {
        let workspace = try ServeWorkspace()
        try await withMigratedDatabase { connection in
            let job = try await scheduledJob(workspace, connection)
            #expect(job.plan?.isEmpty == false)
            // Settings written into volume.toml after scheduling are the next job's, not this one's.
            let manifest = workspace.watchRoot + "/digits/volume.toml"
            try (String(contentsOfFile: manifest, encoding: .utf8) + "\n[estimate]\ndirections = 7\n").write(toFile: manifest, atomically: true, encoding: .utf8)
            // One shard holding every direction: its own results are the whole estimate's.
            let computed = try compute(job)
            let records = try computed.aggregate(computed.results)
            #expect(records.map(\.key.preconditioner) == ["none", "adam"])
            #expect(records.allSatisfy { $0.key.directions == 4 })
            #expect(records.allSatisfy { $0.key.evalFingerprint == "4bbcae263555f577d056f572397d274d838981611c0f17f28629439b206d1db3" })
        }
    }

    @Test(arguments: [true, false])
    func failsAJobWhoseCheckpointChangedAfterScheduling(plan: Bool) async throws {
        let workspace = try ServeWorkspace()
        try await withMigratedDatabase { connection in
            let job = try await scheduledJob(workspace, connection, plan: plan)
            // Same name, same size, other bytes: checkpoint-3000's optimizer state.
            let optimizer = job.checkpoint.path + "/optimizer.pt"
            try FileManager.default.removeItem(atPath: optimizer)
            try FileManager.default.copyItem(atPath: ServeWorkspace.fixtures + "/checkpoint-3000/optimizer.pt", toPath: optimizer)
            #expect(changeCode(job) == "checkpoint.changed_since_scheduled")
        }
    }

    @Test func failsAJobWhoseCheckpointGainedAContentFile() async throws {
        let workspace = try ServeWorkspace()
        try await withMigratedDatabase { connection in
            let job = try await scheduledJob(workspace, connection)
            try #"{"model_type": "mlp"}"#.write(toFile: job.checkpoint.path + "/config.json", atomically: true, encoding: .utf8)
            #expect(changeCode(job) == "checkpoint.changed_since_scheduled")
        }
    }

    @Test func failsAJobWhoseEvalDataChangedAfterScheduling() async throws {
        let workspace = try ServeWorkspace()
        try await withMigratedDatabase { connection in
            let job = try await scheduledJob(workspace, connection)
            let eval = workspace.watchRoot + "/digits/digits_val.safetensors"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: eval))
            bytes[bytes.count - 1] ^= 0x01  // one bit of the last value
            try bytes.write(to: URL(fileURLWithPath: eval))
            #expect(changeCode(job) == "eval.changed_since_scheduled")
        }
    }
}
