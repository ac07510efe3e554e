import DB
import Logging

/// Keeps a claimed job's lease: renews it every third of the lease with the job's progress.
/// When renewing fails (the lease was lost or expired), it logs, sets `stop` to `.leaseLost`
/// so the computation stops between steps, and ends. Cancel it when the job is done.
enum LeaseHeartbeat {
    static func start(_ job: ClaimedJob, queue: JobQueue, leaseSeconds: Double, log: Logger, stop: StopFlag,
                      progress: @escaping @Sendable () -> ShardProgress) -> Task<Void, Never> {
        Task {
            let interval = Duration.seconds(max(1, leaseSeconds / 3))
            while !Task.isCancelled {
                guard (try? await Task.sleep(for: interval)) != nil else { return }
                do {
                    _ = try await queue.heartbeat(job, leaseSeconds: leaseSeconds, progress: progress())
                } catch {
                    log.warning("lost the lease; stopping this job", metadata: ["error": "\(error)"])
                    stop.set(.leaseLost)
                    return
                }
            }
        }
    }
}
