import Base
import Config
import Dashboard
import DB
import Estimator
import Foundation
import Logging
import ServiceLifecycle

/// Turns settled checkpoints into jobs: registers the run and the checkpoint (run, step,
/// content fingerprint) and enqueues a job keyed by the settings it must be estimated under,
/// and, where `[llc]` is enabled (the daemon's or the run's), an LLC job of its own beside it.
/// Enqueueing is idempotent, so rescans, restarts and duplicate events add nothing; a reload
/// with new settings enqueues, for every checkpoint seen, a job that computes only the missing
/// rows.
final class Scheduler: Service {
    private let events: AsyncStream<WatchEvent>
    private let database: Database
    private let state: DaemonState
    private let notifier: SDNotify
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let files = BlockingQueue(label: "volumed.scheduler.files")

    init(events: AsyncStream<WatchEvent>, database: Database, state: DaemonState, notifier: SDNotify,
         metrics: DaemonMetrics, logger: Logger) {
        self.events = events
        self.database = database
        self.state = state
        self.notifier = notifier
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        let connection = try await database.connect()
        let reloads = await state.reloads()
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await event in self.events.cancelOnGracefulShutdown() {
                    await self.handle(event, connection)
                }
            }
            group.addTask {
                for await _ in reloads.cancelOnGracefulShutdown() {
                    await self.backfill(connection)
                }
            }
        }
        await connection.close()
    }

    private func handle(_ event: WatchEvent, _ connection: Connection) async {
        switch event {
        case .scanCompleted(let report):
            metrics.watcherEvent(kind: "scan")
            if report.reason != .startup { metrics.watcherRescanned() }
            logger.info("scan finished", metadata: [
                "reason": "\(report.reason.rawValue)", "runs": "\(report.runs)",
                "checkpoints": "\(report.checkpoints)", "problems": "\(report.problems)",
            ])
            if await state.markScanned() {
                do {
                    try notifier.ready()
                } catch {
                    logger.warning("could not notify systemd", metadata: ["error": "\(error)"])
                }
            }
        case .settled(let checkpoint):
            metrics.watcherEvent(kind: "settled")
            await untilDone("scheduling \(checkpoint.path)") {
                try await self.schedule(checkpoint, connection)
            }
        }
    }

    /// Retries `work` every few seconds while the database is unreachable, so no settled
    /// checkpoint is dropped; gives up only at shutdown.
    private func untilDone(_ what: String, _ work: () async throws -> Void) async {
        var delay = Duration.seconds(1)
        while true {
            do {
                try await work()
                return
            } catch {
                logger.error("\(what) failed; retrying in \(delay)", metadata: ["error": "\(error)"])
                guard (try? await Task.sleep(for: delay)) != nil, !Task.isShuttingDownGracefully else { return }
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    private func schedule(_ settled: SettledCheckpoint, _ connection: Connection) async throws {
        let config = await state.config
        let prepared = try await files.run { Preparation(settled, base: config.estimate, llc: config.llc) }
        let store = ResultStore(connection: connection)
        let run = try await store.upsertRun(name: settled.run, path: settled.runPath)
        let (checkpoint, _) = try await store.upsertCheckpoint(
            runID: run.id, step: prepared.step.map(Int64.init), path: settled.path, fingerprint: prepared.fingerprint)
        let description = prepared.step.map { "\(settled.run) step \($0)" } ?? "\(settled.run)/\(settled.unit.name)"
        await state.remember(.init(id: checkpoint.id, path: settled.path), description: description)
        try await enqueue(checkpoint.id, prepared.inputs, workers: config.workers, connection, about: description)
        if prepared.llc.enabled {
            try await enqueueLLC(checkpoint.id, prepared.inputs, prepared.llc.settings, workers: config.workers, connection, about: description)
        }
    }

    /// New settings: every checkpoint seen gets a job for them; each computes only what is missing.
    private func backfill(_ connection: Connection) async {
        let config = await state.config
        let known = await state.known.values.sorted { $0.id < $1.id }
        logger.info("configuration reloaded; checking \(known.count) checkpoint(s) for missing estimates")
        for checkpoint in known {
            await untilDone("backfilling \(checkpoint.path)") {
                let (inputs, llc) = try await self.files.run {
                    let folder = try? CheckpointFolder(path: checkpoint.path)
                    return (Preparation.inputs(checkpoint: checkpoint.path, folder: folder, base: config.estimate),
                            Preparation.llcPlan(checkpoint: checkpoint.path, folder: folder, base: config.llc))
                }
                try await self.enqueue(checkpoint.id, inputs, workers: config.workers, connection, about: checkpoint.path)
                if llc.enabled {
                    try await self.enqueueLLC(checkpoint.id, inputs, llc.settings, workers: config.workers, connection, about: checkpoint.path)
                }
            }
        }
    }

    /// Enqueues the checkpoint's estimate under its settings, carrying the inputs they were
    /// resolved from: one job per shard of `[workers] shard_directions` directions.
    private func enqueue(_ checkpointID: Int64, _ inputs: EstimationInputs, workers: Config.Workers, _ connection: Connection,
                         about description: String) async throws {
        let settings = JobSettings(inputs)
        let shards = workers.shards(directions: inputs.plan.settings.directions)
        let (job, inserted) = try await JobQueue(connection: connection).enqueue(
            checkpointID: checkpointID, settings: settings.json.serialized(), settingsKey: settings.key,
            plan: inputs.jobJSON.serialized(), maxAttempts: workers.maxAttempts, shards: shards)
        if inserted {
            logger.info("queued \(description)", metadata: ["job": "\(job.id)", "checkpoint": "\(checkpointID)", "shards": "\(shards.count)"])
            try await connection.notify(channel: EstimateWorker.jobChannel, payload: String(job.id))
        } else {
            logger.debug("already queued or done: \(description)", metadata: ["job": "\(job.id)", "state": "\(job.state.rawValue)"])
        }
    }

    /// Enqueues the checkpoint's LLC under `settings`: one job, carrying the same inputs as its
    /// volume job (the worker loads the checkpoint from them).
    private func enqueueLLC(_ checkpointID: Int64, _ inputs: EstimationInputs, _ settings: LLCSettings, workers: Config.Workers,
                            _ connection: Connection, about description: String) async throws {
        let job = LLCJobSettings(settings: settings, evalFingerprint: inputs.evalFingerprint)
        let (record, inserted) = try await JobQueue(connection: connection).enqueueLLC(
            checkpointID: checkpointID, settings: job.json.serialized(), settingsKey: job.key,
            plan: inputs.jobJSON.serialized(), maxAttempts: workers.maxAttempts)
        if inserted {
            logger.info("queued the LLC of \(description)", metadata: ["job": "\(record.id)", "checkpoint": "\(checkpointID)"])
            try await connection.notify(channel: EstimateWorker.jobChannel, payload: String(record.id))
        }
    }
}

/// The file work behind scheduling one checkpoint: its content fingerprint, and the inputs its
/// job reads (the run resolved, the eval file hashed without being parsed). Reading failures are
/// not errors here: the job records them when it runs.
struct Preparation: Sendable {
    let fingerprint: String
    let inputs: EstimationInputs
    /// The step to record: the name's, or a Lightning file's `global_step` (nil while unreadable).
    let step: Int?
    /// The daemon's `[llc]` with the run's laid over it.
    let llc: LLCPlan

    init(_ settled: SettledCheckpoint, base: EstimationPlan, llc: LLCPlan = LLCPlan()) {
        let folder = try? CheckpointFolder(path: settled.path)
        step = settled.unit.layout == .lightning ? folder?.step : settled.step
        // Unreadable now: identify this version by its files' names, sizes and times, so a
        // later rewrite is a new version; the worker reports the actual error.
        fingerprint = (try? folder?.fingerprint()) ?? settled.snapshot.unreadableFingerprint
        inputs = Self.inputs(checkpoint: settled.path, folder: folder, base: base)
        self.llc = Self.llcPlan(checkpoint: settled.path, folder: folder, base: llc)
    }

    /// The run's `volume.toml` `[llc]` laid over `base`; `base` when the run has none or its
    /// manifest cannot be read (the volume job reports why).
    static func llcPlan(checkpoint path: String, folder: CheckpointFolder?, base: LLCPlan) -> LLCPlan {
        guard let run = try? RunFolder(path: folder?.runFolder ?? CheckpointFolder.runFolder(of: path)),
              let manifest = run.manifest else { return base }
        return manifest.llc.applied(to: base)
    }

    /// The checkpoint's inputs under the daemon's `[estimate]`, with the eval data's fingerprint
    /// (nil when it cannot be read; the job then fails reading it).
    static func inputs(checkpoint path: String, folder: CheckpointFolder?, base: EstimationPlan) -> EstimationInputs {
        var inputs = EstimationInputs(checkpoint: path, folder: folder, base: base)
        inputs.evalFingerprint = inputs.evalData.flatMap { spec in
            try? EvalDataSet.fingerprint(spec: spec, runFolder: CheckpointFolder.runFolder(of: path), checkpoint: folder) {
                (file) throws(CheckpointError) in
                guard let fingerprint = EvalFingerprints.shared.fingerprint(file) else {
                    throw CheckpointError(CheckpointError.Code.missingEvalData, file: file, "cannot be read")
                }
                return fingerprint
            }
        }
        return inputs
    }
}

/// SHA-256 of the bytes of eval data files (and tokenizer and config files), cached by (path,
/// size, modification time, inode) so rescans do not reread unchanged files.
final class EvalFingerprints: @unchecked Sendable {
    static let shared = EvalFingerprints()
    private let lock = NSLock()
    private var cache: [String: (stamp: String, fingerprint: String)] = [:]

    func fingerprint(_ path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let stamp = "\(attributes[.size] ?? 0)/\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)/\(attributes[.systemFileNumber] ?? 0)"
        lock.lock()
        if let hit = cache[path], hit.stamp == stamp {
            lock.unlock()
            return hit.fingerprint
        }
        lock.unlock()
        guard let fingerprint = try? EvalDataFile.fingerprint(ofFile: path) else { return nil }
        lock.lock()
        cache[path] = (stamp, fingerprint)
        lock.unlock()
        return fingerprint
    }
}
