import Base
import Dashboard
import DB
import Estimator
import Logging

/// What a worker records when a job's computation threw, the same for volume shards and LLC
/// jobs: a stopped job returns its lease at shutdown (after a lost lease it is left to expire);
/// bad input is permanent — the same files fail the same way, in every shard (an estimate's
/// queued shards fail with it), and a new version of the checkpoint is a new job — so it fails
/// with its code; anything else (the database, an uncoded error) is retried.
enum JobErrorOutcome {
    static func record(_ error: any Error, job: ClaimedJob, queue: JobQueue, stop: StopFlag,
                       metrics: DaemonMetrics, log: Logger) async throws {
        switch error {
        case let error as EstimatorError where error.code == EstimatorError.cancelled:
            if stop.reason == .shutdown {
                try await queue.release(job)
                log.info("returned the job's lease for shutdown")
            }
        case let error as any CodedError where !(error is DatabaseError):
            metrics.jobFailed(code: error.code)
            let state = try await queue.fail(job, code: error.code, message: error.description, retryable: false)
            log.error("failed: \(error.description)", metadata: ["code": "\(error.code)", "state": "\(state.rawValue)"])
        default:
            metrics.jobFailed(code: "job.error")
            let state = try await queue.fail(job, code: "job.error", message: "\(error)", retryable: true)
            log.error("failed: \(error)", metadata: ["state": "\(state.rawValue)"])
        }
    }
}
