import Base
import Config
import Dashboard
import DB
import Estimator
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Runs a claimed LLC job for an `EstimateWorker`: loads the checkpoint as it was scheduled,
/// samples its LLC and commits the estimate with the job's completion in one transaction.
/// Leases, heartbeats (with the SGLD steps done), failures, retries and shutdown are handled as
/// for a volume shard; an LLC job's failure is its own and never touches the volume jobs.
///
/// The checkpoint is loaded for the job rather than taken from the `EstimationCache`: the cache
/// holds one estimate's loaded checkpoint for its shards, and an LLC job in between would
/// replace it and make the remaining shards load it again.
struct LLCJobRunner: Sendable {
    let compute: BlockingQueue
    let metrics: DaemonMetrics
    let logger: Logger

    func process(_ job: ClaimedJob, queue: JobQueue, connection: Connection, config: Config) async {
        let what = "\(job.run.name)/\((job.checkpoint.path as NSString).lastPathComponent)"
        var log = logger
        log[metadataKey: "job"] = "\(job.id)"
        log[metadataKey: "measure"] = "llc"
        log.info("estimating the LLC of \(what)", metadata: ["attempt": "\(job.attempt)/\(job.maxAttempts)"])
        let stop = StopFlag()
        let progress = StepCounter()
        let threads = config.workers.threads > 0 ? config.workers.threads : WorkerPool.coreCount

        // `log` is a `var`: the heartbeat gets a copy, not the variable (which the outcome logging
        // below reads concurrently).
        let heartbeat = LeaseHeartbeat.start(job, queue: queue, leaseSeconds: config.workers.leaseSeconds,
                                             log: log, stop: stop) { progress.now }
        defer { heartbeat.cancel() }

        let outcome: Result<Computed, any Error> = await withGracefulShutdownHandler {
            do {
                return .success(try await compute.run {
                    try Self.compute(job, threads: threads, progress: progress, stop: stop)
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
                let inserted = try await queue.completeLLC(job, record: computed.record)
                metrics.jobCompleted(estimateSeconds: [], klEvaluations: 0)
                log.info("recorded the LLC of \(what)", metadata: [
                    "llc": "\(computed.record.mean)", "inserted": "\(inserted)",
                    "seconds": "\(String(format: "%.2f", computed.record.seconds))",
                ])
            case .failure(let error):
                try await JobErrorOutcome.record(error, job: job, queue: queue, stop: stop, metrics: metrics, log: log)
            }
        } catch {
            // The lease was lost or the database is gone; the lease expires and the job runs again.
            log.error("could not record the job's outcome", metadata: ["error": "\(error)"])
        }
    }

    struct Computed: Sendable {
        let record: LLCRecord
        let parameters: Int
        let architecture: String
    }

    /// The blocking part: load the checkpoint as scheduled (its fingerprint and eval data's),
    /// sample, and check that nothing read changed meanwhile.
    static func compute(_ job: ClaimedJob, threads: Int, progress: StepCounter, stop: StopFlag) throws -> Computed {
        let settings = try LLCJobSettings(text: job.settings)
        guard settings.key == job.settingsKey else {
            throw JobSettingsError(detail: "the LLC job's settings do not hash to its key")
        }
        guard let plan = job.plan else { throw JobSettingsError(detail: "the LLC job has no plan") }
        let inputs = try EstimationInputs(jobJSON: plan)
        guard inputs.evalFingerprint == settings.evalFingerprint else {
            throw JobSettingsError(detail: "the LLC job's plan names other eval data than its settings")
        }
        let fingerprint = job.checkpoint.fingerprint
        let unreadable = CheckpointSnapshot.isUnreadableFingerprint(fingerprint)
        let estimation = try CheckpointEstimation(path: job.checkpoint.path, inputs: inputs, fingerprint: unreadable ? nil : fingerprint)
        if unreadable { try EstimateWorker.checkSnapshot(job) }
        let estimate = try estimation.llc(settings.settings, threads: threads,
                                          progress: { done, total in progress.update(done: done, total: total) },
                                          shouldStop: { stop.isSet })
        try estimation.checkUnchanged()
        return Computed(record: LLCRecords.record(estimate, evalFingerprint: estimation.eval.fingerprint,
                                                          evalData: estimation.eval.provenance.json.serialized()),
                        parameters: estimation.model.layout.count, architecture: estimation.model.architecture)
    }
}

/// A running LLC job's SGLD steps done of its total (all chains), set by the sampler's
/// progress callback and read by the heartbeat.
final class StepCounter: Sendable {
    private let done = Atomic<Int>(0)
    /// -1 until the sampler reports.
    private let total = Atomic<Int>(-1)

    func update(done: Int, total: Int) {
        self.total.store(total, ordering: .relaxed)
        // Chains report concurrently: keep the largest count seen.
        var current = self.done.load(ordering: .relaxed)
        while current < done {
            let (exchanged, original) = self.done.compareExchange(expected: current, desired: done, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    var now: ShardProgress {
        let total = total.load(ordering: .relaxed)
        return ShardProgress(done: done.load(ordering: .relaxed), total: total < 0 ? nil : total)
    }
}
