import Base
import DB
import Estimator
import Foundation
import Hashing
import Logging
import ServiceLifecycle

/// Turns settled checkpoints into jobs: registers the run and the checkpoint (run, step,
/// content fingerprint) and enqueues a job keyed by the settings it must be estimated under.
/// Enqueueing is idempotent, so rescans, restarts and duplicate events add nothing; a reload
/// with new settings enqueues, for every checkpoint seen, a job that computes only the missing
/// rows.
final class Scheduler: Service {
    private let events: AsyncStream<WatchEvent>
    private let database: Database
    private let state: DaemonState
    private let notifier: SDNotify
    private let logger: Logger
    private let files = BlockingQueue(label: "volumed.scheduler.files")

    init(events: AsyncStream<WatchEvent>, database: Database, state: DaemonState, notifier: SDNotify, logger: Logger) {
        self.events = events
        self.database = database
        self.state = state
        self.notifier = notifier
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
        let prepared = try await files.run { Preparation(settled, base: config.estimate) }
        let store = ResultStore(connection: connection)
        let run = try await store.upsertRun(name: settled.run, path: settled.runPath)
        let (checkpoint, _) = try await store.upsertCheckpoint(
            runID: run.id, step: settled.step.map(Int64.init), path: settled.path, fingerprint: prepared.fingerprint)
        let description = settled.step.map { "\(settled.run) step \($0)" } ?? "\(settled.run)/\(settled.unit.name)"
        await state.remember(.init(id: checkpoint.id, path: settled.path, runPath: settled.runPath), description: description)
        try await enqueue(checkpoint.id, prepared.settings, maxAttempts: config.workers.maxAttempts, connection, about: description)
    }

    /// New settings: every checkpoint seen gets a job for them; each computes only what is missing.
    private func backfill(_ connection: Connection) async {
        let config = await state.config
        let known = await state.known.values.sorted { $0.id < $1.id }
        logger.info("configuration reloaded; checking \(known.count) checkpoint(s) for missing estimates")
        for checkpoint in known {
            await untilDone("backfilling \(checkpoint.path)") {
                let settings = try await self.files.run {
                    Preparation.settings(runPath: checkpoint.runPath, base: config.estimate)
                }
                try await self.enqueue(checkpoint.id, settings, maxAttempts: config.workers.maxAttempts, connection,
                                       about: checkpoint.path)
            }
        }
    }

    private func enqueue(_ checkpointID: Int64, _ settings: JobSettings, maxAttempts: Int, _ connection: Connection,
                         about description: String) async throws {
        let (job, inserted) = try await JobQueue(connection: connection).enqueue(
            checkpointID: checkpointID, settings: settings.json.serialized(), settingsKey: settings.key, maxAttempts: maxAttempts)
        if inserted {
            logger.info("queued \(description)", metadata: ["job": "\(job.id)", "checkpoint": "\(checkpointID)"])
            try await connection.notify(channel: EstimateWorker.jobChannel, payload: String(job.id))
        } else {
            logger.debug("already queued or done: \(description)", metadata: ["job": "\(job.id)", "state": "\(job.state.rawValue)"])
        }
    }
}

/// The file work behind scheduling one checkpoint: its content fingerprint and the settings its
/// job runs under. Reading failures are not errors here: the job records them when it runs.
struct Preparation: Sendable {
    let fingerprint: String
    let settings: JobSettings

    init(_ settled: SettledCheckpoint, base: EstimationPlan) {
        do {
            fingerprint = try CheckpointFolder(path: settled.path).fingerprint()
        } catch {
            // Unreadable now: identify this version by its files' names, sizes and times, so a
            // later rewrite is a new version; the worker reports the actual error.
            var hasher = SHA256()
            for file in settled.snapshot.files {
                hasher.update(Array("\(file.name)\0\(file.size)\0\(file.modifiedSeconds).\(file.modifiedNanoseconds)\0".utf8))
            }
            fingerprint = "unreadable:" + hasher.hexDigest()
        }
        settings = Self.settings(runPath: settled.runPath, base: base)
    }

    /// The daemon's `[estimate]` with the run's `volume.toml` laid over it, and the eval data's
    /// fingerprint. A manifest or eval file that cannot be read leaves the base settings and no
    /// fingerprint; the job then fails with the reading error.
    static func settings(runPath: String, base: EstimationPlan) -> JobSettings {
        guard let run = try? RunFolder(path: runPath) else {
            return JobSettings(plan: base, evalFingerprint: nil)
        }
        let plan = run.manifest.map { $0.estimate.applied(to: base) } ?? base
        let fingerprint = (try? run.evalDataPath()).flatMap { EvalFingerprints.shared.fingerprint($0) }
        return JobSettings(plan: plan, evalFingerprint: fingerprint)
    }
}

/// SHA-256 of eval files, cached by (path, size, modification time, inode) so rescans do not
/// reread unchanged files.
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
        guard let file = try? EvalDataFile(path: path) else { return nil }
        lock.lock()
        cache[path] = (stamp, file.fingerprint)
        lock.unlock()
        return file.fingerprint
    }
}
