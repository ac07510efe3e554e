import Base
import Config
import Dashboard
import DB
import Estimator
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Claims jobs and computes them: loads the checkpoint, estimates the rows it is missing, and
/// commits them with the job's completion in one transaction. Holds a lease and heartbeats it;
/// on graceful shutdown it stops the running estimate and returns the lease.
final class EstimateWorker: Service {
    /// Schedulers NOTIFY here when they enqueue, so idle workers wake at once.
    static let jobChannel = "volumed_jobs"

    private let index: Int
    private let database: Database
    private let state: DaemonState
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let owner: String
    private let compute: BlockingQueue
    private let idlePoll: Duration

    init(index: Int, database: Database, state: DaemonState, metrics: DaemonMetrics, logger: Logger,
         idlePoll: Duration = .seconds(1)) {
        self.index = index
        self.database = database
        self.state = state
        self.metrics = metrics
        self.owner = "\(ProcessInfo.processInfo.hostName):\(getpid()):worker-\(index)"
        self.logger = logger
        self.compute = BlockingQueue(label: "volumed.worker-\(index)")
        self.idlePoll = idlePoll
    }

    func run() async throws {
        let connection = try await database.connect()
        try await connection.listen(Self.jobChannel)
        let queue = JobQueue(connection: connection)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let config = await state.config
            let job: ClaimedJob?
            do {
                job = try await queue.claim(owner: owner, leaseSeconds: config.workers.leaseSeconds)
            } catch {
                logger.error("claiming a job failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(2))
                continue
            }
            guard let job else {
                // Idle: wait for an enqueue notification (or poll again after a while).
                _ = try? await connection.nextNotification(timeout: idlePoll)
                continue
            }
            await process(job, queue: queue, connection: connection, config: config)
        }
        await connection.close()
    }

    private func process(_ job: ClaimedJob, queue: JobQueue, connection: Connection, config: Config) async {
        let what = "\(job.run.name)/\((job.checkpoint.path as NSString).lastPathComponent)"
        var log = logger
        log[metadataKey: "job"] = "\(job.id)"
        log.info("estimating \(what)", metadata: ["attempt": "\(job.attempt)/\(job.maxAttempts)"])
        let stop = StopFlag()
        let threads = config.workers.threads > 0 ? config.workers.threads : WorkerPool.coreCount

        // `log` is a `var`: capture a copy, not the variable (which the job's outcome logging
        // below reads concurrently; TSan builds keep the variable boxed and reject the sharing).
        let heartbeat = Task { [log] in
            let interval = Duration.seconds(max(1, config.workers.leaseSeconds / 3))
            while !Task.isCancelled {
                guard (try? await Task.sleep(for: interval)) != nil else { return }
                do {
                    try await queue.heartbeat(job, leaseSeconds: config.workers.leaseSeconds)
                } catch {
                    log.warning("lost the lease; stopping this estimate", metadata: ["error": "\(error)"])
                    stop.set(.leaseLost)
                    return
                }
            }
        }
        defer { heartbeat.cancel() }

        let outcome: Result<Computed, any Error> = await withGracefulShutdownHandler {
            do {
                let existing = try await ResultStore(connection: connection).existingEstimateKeys(checkpointID: job.checkpoint.id)
                return .success(try await compute.run { try Self.compute(job, existing: existing, threads: threads, stop: stop) })
            } catch {
                return .failure(error)
            }
        } onGracefulShutdown: {
            stop.set(.shutdown)
        }
        heartbeat.cancel()

        do {
            switch outcome {
            case .success(let computed):
                try await ResultStore(connection: connection).describeCheckpoint(
                    id: job.checkpoint.id, nParams: Int64(computed.parameters), architecture: computed.architecture)
                let inserted = try await queue.complete(job, estimates: computed.records)
                Self.record(computed.records, in: metrics)
                log.info("recorded \(what)", metadata: ["rows": "\(inserted)", "seconds": "\(String(format: "%.2f", computed.seconds))"])
            case .failure(let error as EstimatorError) where error.code == EstimatorError.cancelled:
                if stop.reason == .shutdown {
                    try await queue.release(job)
                    log.info("returned the job's lease for shutdown")
                }
            case .failure(let error as any CodedError) where !(error is DatabaseError):
                // Bad input is permanent: the same files fail the same way. A new version of
                // the checkpoint is a new job.
                metrics.jobFailed(code: error.code)
                let state = try await queue.fail(job, code: error.code, message: error.description, retryable: false)
                log.error("failed: \(error.description)", metadata: ["code": "\(error.code)", "state": "\(state.rawValue)"])
            case .failure(let error):
                metrics.jobFailed(code: "job.error")
                let state = try await queue.fail(job, code: "job.error", message: "\(error)", retryable: true)
                log.error("failed: \(error)", metadata: ["state": "\(state.rawValue)"])
            }
        } catch {
            // The lease was lost or the database is gone; the lease expires and the job runs again.
            log.error("could not record the job's outcome", metadata: ["error": "\(error)"])
        }
    }

    /// A completed job's computed rows. The cutoffs of one preconditioner share its ray search,
    /// so its KL evaluations count once (the largest of its rows).
    static func record(_ records: [EstimateRecord], in metrics: DaemonMetrics) {
        var seconds: [Double] = []
        var evaluations: [String: Int64] = [:]
        for record in records {
            guard case .computed(let result) = record.outcome else { continue }
            seconds.append(result.seconds)
            let search = record.key.preconditioner + ":" + record.key.preconditionerParams
            evaluations[search] = max(evaluations[search] ?? 0, result.klEvaluations)
        }
        metrics.jobCompleted(estimateSeconds: seconds, klEvaluations: evaluations.values.reduce(0, +))
    }

    struct Computed: Sendable {
        let records: [EstimateRecord]
        let parameters: Int
        let architecture: String
        let seconds: Double
    }

    /// The blocking part: load the checkpoint and estimate the rows it lacks. What is loaded must
    /// be what was scheduled: the content with the checkpoint's fingerprint, unchanged until the
    /// estimates are done, and the eval data with the job's eval fingerprint; else the job fails
    /// with `checkpoint.changed_since_scheduled` or `eval.changed_since_scheduled` (the watcher
    /// schedules the new version of a checkpoint as a new checkpoint).
    static func compute(_ job: ClaimedJob, existing: Set<EstimateKey>, threads: Int, stop: StopFlag) throws -> Computed {
        let clock = ContinuousClock()
        let started = clock.now
        let inputs = try inputs(job)
        let fingerprint = job.checkpoint.fingerprint
        let unreadable = CheckpointSnapshot.isUnreadableFingerprint(fingerprint)
        let estimation = try CheckpointEstimation(path: job.checkpoint.path, inputs: inputs, fingerprint: unreadable ? nil : fingerprint)
        if unreadable { try checkSnapshot(job) }
        let plan = estimation.plan
        var records: [EstimateRecord] = []
        for spec in plan.preconditioners {
            let missing = plan.settings.cutoffs.filter {
                !existing.contains(EstimateRecords.key(spec, cutoff: $0, settings: plan.settings, evalFingerprint: estimation.eval.fingerprint))
            }
            guard !missing.isEmpty else { continue }
            let outcome = try estimation.outcome(spec, cutoffs: missing, threads: threads, shouldStop: { stop.isSet })
            records += EstimateRecords.records(outcome, cutoffs: missing, settings: plan.settings,
                                               eval: estimation.eval.provenance)
        }
        try estimation.checkUnchanged()
        return Computed(records: records, parameters: estimation.model.layout.count,
                        architecture: estimation.model.architecture, seconds: (clock.now - started).seconds)
    }

    /// The job's inputs: its plan, which must resolve to the settings its key hashes. A job
    /// enqueued before jobs carried a plan resolves the run now, under the job's settings.
    static func inputs(_ job: ClaimedJob) throws -> EstimationInputs {
        guard let plan = job.plan else {
            let settings = try JobSettings(text: job.settings)
            var inputs = EstimationInputs(checkpoint: job.checkpoint.path, folder: try? CheckpointFolder(path: job.checkpoint.path),
                                          base: settings.plan)
            inputs.plan = settings.plan
            inputs.evalFingerprint = settings.evalFingerprint
            return inputs
        }
        let inputs = try EstimationInputs(jobJSON: plan)
        guard JobSettings(inputs).key == job.settingsKey else {
            throw JobSettingsError(detail: "the job's plan resolves to other settings than its key identifies")
        }
        return inputs
    }

    /// A checkpoint scheduled while unreadable is identified by its files' names, sizes and
    /// times: they must still be those.
    private static func checkSnapshot(_ job: ClaimedJob) throws(CheckpointError) {
        let path = job.checkpoint.path
        // The folder that holds it (a run folder or a nested one); the snapshot reads only the unit.
        let folder = (path as NSString).deletingLastPathComponent
        let snapshot = CheckpointUnit(name: (path as NSString).lastPathComponent, run: job.run.name, runPath: folder)
            .flatMap { CheckpointScanner(root: (folder as NSString).deletingLastPathComponent).inspect($0).state.snapshot }
        guard snapshot?.unreadableFingerprint == job.checkpoint.fingerprint else {
            throw CheckpointError(CheckpointError.Code.checkpointChanged, file: path,
                                  "the checkpoint changed after its estimate was planned; its new version is estimated as a new checkpoint")
        }
    }
}

/// Why a running estimate should stop; read from the estimator's threads.
final class StopFlag: Sendable {
    enum Reason: Int { case none = 0, shutdown, leaseLost }
    private let value = Atomic<Int>(0)

    func set(_ reason: Reason) {
        _ = value.compareExchange(expected: 0, desired: reason.rawValue, ordering: .relaxed)
    }

    var isSet: Bool { value.load(ordering: .relaxed) != 0 }
    var reason: Reason { Reason(rawValue: value.load(ordering: .relaxed)) ?? .none }
}
