import Foundation

/// A job leased to a worker by `JobQueue.claim`, with what the worker needs to run it.
///
/// The lease is (job `id`, `owner`, `attempt`): `heartbeat`, `complete`, `fail` and `release`
/// succeed only while the job's row still carries it, so a worker whose lease expired and was
/// taken over by another cannot overwrite that worker's outcome.
public struct ClaimedJob: Sendable, Equatable {
    public let id: Int64
    public let owner: String
    /// This attempt's number, from 1.
    public let attempt: Int
    public let maxAttempts: Int
    public let leaseExpiresAt: Date
    /// The settings JSON stored at enqueue time (normalized by `jsonb`).
    public let settings: String
    public let settingsKey: String
    /// What the enqueuer resolved for the checkpoint (JSON, normalized by `jsonb`); nil for jobs
    /// enqueued without one.
    public let plan: String?
    public let checkpoint: CheckpointRecord
    public let run: RunRecord
    /// Which shard of its estimate this job is (0-based), of `shards`.
    public let shard: Int
    public let shards: Int
    /// The directions this shard computes: `firstDirection ..< firstDirection + directionCount`,
    /// or every direction from `firstDirection` on when `directionCount` is nil.
    public let firstDirection: Int
    public let directionCount: Int?
    /// A volume estimate's shard, or an LLC estimate (a single shard; its direction fields unused).
    public var kind: JobKind = .volume

    /// The shard's directions of an estimate of `k` directions.
    public func directions(of k: Int) -> Range<Int> {
        let start = min(firstDirection, k)
        return start..<min(k, directionCount.map { firstDirection + $0 } ?? k)
    }
}
