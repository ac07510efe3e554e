import Base
import Config
import Dashboard
import DB
import Estimator
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Claims jobs — shards of estimates — and computes them: loads the checkpoint (or takes it from
/// the process's `EstimationCache`), runs the shard's directions for every preconditioner whose
/// estimates are missing, and commits them with the shard's completion in one transaction (the
/// shard that finishes its estimate writes the estimate rows). Holds a lease and heartbeats it
/// with the shard's progress; on graceful shutdown it stops the running shard and returns the lease.
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
    private let cache: EstimationCache
    private let idlePoll: Duration

    init(index: Int, database: Database, state: DaemonState, metrics: DaemonMetrics, logger: Logger,
         cache: EstimationCache, idlePoll: Duration = .seconds(1)) {
        self.index = index
        self.database = database
        self.state = state
        self.metrics = metrics
        self.owner = "\(ProcessInfo.processInfo.hostName):\(getpid()):worker-\(index)"
        self.logger = logger
        self.compute = BlockingQueue(label: "volumed.worker-\(index)")
        self.cache = cache
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
                // Idle: no shard is left to need the loaded checkpoint. Wait for an enqueue
                // notification (or poll again after a while).
                cache.evict()
                _ = try? await connection.nextNotification(timeout: idlePoll)
                continue
            }
            if job.kind == .llc {
                await LLCJobRunner(compute: compute, metrics: metrics, logger: logger)
                    .process(job, queue: queue, connection: connection, config: config)
            } else {
                await process(job, queue: queue, connection: connection, config: config)
            }
        }
        await connection.close()
    }

    private func process(_ job: ClaimedJob, queue: JobQueue, connection: Connection, config: Config) async {
        let what = "\(job.run.name)/\((job.checkpoint.path as NSString).lastPathComponent)"
        var log = logger
        log[metadataKey: "job"] = "\(job.id)"
        if job.shards > 1 { log[metadataKey: "shard"] = "\(job.shard + 1)/\(job.shards)" }
        log.info("estimating \(what)", metadata: ["attempt": "\(job.attempt)/\(job.maxAttempts)"])
        let stop = StopFlag()
        let progress = ShardCounter()
        let threads = config.workers.threads > 0 ? config.workers.threads : WorkerPool.coreCount

        // `log` is a `var`: the heartbeat gets a copy, not the variable (which the outcome logging
        // below reads concurrently).
        let heartbeat = LeaseHeartbeat.start(job, queue: queue, leaseSeconds: config.workers.leaseSeconds,
                                             log: log, stop: stop) { progress.now }
        defer { heartbeat.cancel() }

        let cache = cache
        let outcome: Result<Computed, any Error> = await withGracefulShutdownHandler {
            do {
                let existing = try await ResultStore(connection: connection).existingEstimateKeys(checkpointID: job.checkpoint.id)
                return .success(try await compute.run {
                    try Self.compute(job, existing: existing, threads: threads, cache: cache, progress: progress, stop: stop)
                })
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
                let aggregated = AggregatedRecords()
                let inserted = try await queue.complete(job, results: computed.results) { merged in
                    let records = try computed.aggregate(merged)
                    aggregated.set(records)
                    return records
                }
                Self.record(aggregated.records, searched: computed.results, in: metrics)
                log.info(aggregated.records.isEmpty ? "recorded \(what), shard \(job.shard + 1) of \(job.shards)" : "recorded \(what)",
                         metadata: ["rows": "\(inserted)", "seconds": "\(String(format: "%.2f", computed.seconds))"])
            case .failure(let error):
                try await JobErrorOutcome.record(error, job: job, queue: queue, stop: stop, metrics: metrics, log: log)
            }
        } catch {
            // The lease was lost or the database is gone; the lease expires and the job runs again.
            log.error("could not record the job's outcome", metadata: ["error": "\(error)"])
        }
    }

    /// A completed shard: the estimate rows it wrote (when it finished its estimate; the cutoffs
    /// of one preconditioner share its ray search, so they count once) and its own searches' KL
    /// evaluations.
    static func record(_ records: [EstimateRecord], searched: [ShardResult], in metrics: DaemonMetrics) {
        let seconds = records.compactMap { record -> Double? in
            guard case .computed(let result) = record.outcome else { return nil }
            return result.seconds
        }
        var evaluations: Int64 = 0
        for result in searched {
            guard case .computed(_, let directions) = result.outcome else { continue }
            for direction in directions { evaluations += Int64(direction.samples.map(\.klEvaluations).max() ?? 0) }
        }
        metrics.jobCompleted(estimateSeconds: seconds, klEvaluations: evaluations)
    }

    struct Computed: Sendable {
        let results: [ShardResult]
        let parameters: Int
        let architecture: String
        let seconds: Double
        /// Turns the results of every shard into the estimate rows (run by the shard that finishes).
        let aggregate: @Sendable ([ShardResult]) throws -> [EstimateRecord]
    }

    /// The blocking part: load the checkpoint (or find it loaded) and run the shard's directions
    /// for every preconditioner with a missing estimate — at all the plan's cutoffs, so every
    /// shard searches the same cutoffs from the same warm start whatever was stored meanwhile.
    /// What is loaded must be what was scheduled: the content with the checkpoint's fingerprint,
    /// unchanged until the shard is done, and the eval data with the job's eval fingerprint; else
    /// the job fails with `checkpoint.changed_since_scheduled` or `eval.changed_since_scheduled`
    /// (the watcher schedules the new version of a checkpoint as a new checkpoint).
    static func compute(_ job: ClaimedJob, existing: Set<EstimateKey>, threads: Int, cache: EstimationCache,
                        progress: ShardCounter, stop: StopFlag) throws -> Computed {
        let clock = ContinuousClock()
        let started = clock.now
        let key = EstimationCache.Key(checkpointID: job.checkpoint.id, fingerprint: job.checkpoint.fingerprint,
                                      settingsKey: job.settingsKey)
        let loaded = try cache.entry(for: key) { try load(job) }
        let estimation = loaded.estimation
        let plan = estimation.plan
        let settings = plan.settings
        let range = job.directions(of: settings.directions)
        let specs = plan.preconditioners.filter { spec in
            settings.cutoffs.contains {
                !existing.contains(EstimateRecords.key(spec, cutoff: $0, settings: settings, evalFingerprint: estimation.eval.fingerprint))
            }
        }
        progress.begin(total: range.count * specs.count)
        let estimator = try estimation.volumeEstimator(settings: settings, threads: threads)
        var results: [ShardResult] = []
        for spec in specs {
            switch try loaded.prepare(spec, estimator: estimator) {
            case .skipped(let reason):
                progress.skip(range.count)
                results.append(ShardResult(preconditioner: spec.name, preconditionerParams: spec.parameterText,
                                           outcome: .skipped(reason: reason)))
            case .ready(let preconditioner, let first, let firstSeconds):
                let searchStarted = clock.now
                if range.contains(0) { progress.finished(1) }
                let outcomes = try estimator.directions(range, preconditioner: preconditioner, first: first,
                                                        progress: { _ in progress.finished(1) },
                                                        shouldStop: { stop.isSet })
                let seconds = (clock.now - searchStarted).seconds + (range.contains(0) ? firstSeconds : 0)
                results.append(ShardResult(preconditioner: spec.name, preconditionerParams: spec.parameterText,
                                           outcome: .computed(seconds: seconds, directions: outcomes.map { ShardDirection($0, cutoffs: settings.cutoffs) })))
            }
        }
        try estimation.checkUnchanged()
        return Computed(results: results, parameters: estimation.model.layout.count,
                        architecture: estimation.model.architecture, seconds: (clock.now - started).seconds,
                        aggregate: { merged in try EstimateRecords.aggregate(merged, loaded, threads: threads) })
    }

    /// Loads the job's checkpoint as it was scheduled.
    private static func load(_ job: ClaimedJob) throws -> CheckpointEstimation {
        let inputs = try inputs(job)
        let fingerprint = job.checkpoint.fingerprint
        let unreadable = CheckpointSnapshot.isUnreadableFingerprint(fingerprint)
        let estimation = try CheckpointEstimation(path: job.checkpoint.path, inputs: inputs, fingerprint: unreadable ? nil : fingerprint)
        if unreadable { try checkSnapshot(job) }
        return estimation
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
    static func checkSnapshot(_ job: ClaimedJob) throws(CheckpointError) {
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

/// A running shard's progress: direction searches done of its total, updated by the
/// estimator's threads and read by the heartbeat.
final class ShardCounter: Sendable {
    private let done = Atomic<Int>(0)
    /// -1 until the shard knows which preconditioners it computes.
    private let total = Atomic<Int>(-1)

    func begin(total: Int) { self.total.store(total, ordering: .relaxed) }
    func finished(_ directions: Int) { done.wrappingAdd(directions, ordering: .relaxed) }
    /// A skipped preconditioner's directions: nothing to search.
    func skip(_ directions: Int) { total.wrappingSubtract(directions, ordering: .relaxed) }

    var now: ShardProgress {
        let total = total.load(ordering: .relaxed)
        return ShardProgress(done: done.load(ordering: .relaxed), total: total < 0 ? nil : total)
    }
}

/// The rows a shard's completion aggregated (set inside the database transaction).
final class AggregatedRecords: Sendable {
    private let value = Mutex<[EstimateRecord]>([])
    func set(_ records: [EstimateRecord]) { value.withLock { $0 = records } }
    var records: [EstimateRecord] { value.withLock { $0 } }
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
