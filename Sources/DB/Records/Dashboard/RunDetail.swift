import Foundation

/// Everything the run page draws: the run, all its checkpoints (every version, with or without
/// a step) and, per checkpoint and estimate key, the newest computed estimate.
public struct RunDetail: Sendable, Equatable {
    public var run: RunRecord
    /// Ordered by step (checkpoints without a step last), then creation.
    public var checkpoints: [CheckpointRecord]
    /// One per (checkpoint, estimate key): the newest computed estimate. Ordered by key, then step.
    public var points: [SeriesPoint]
    /// This run's jobs per state.
    public var jobs: QueueCounts

    public init(run: RunRecord, checkpoints: [CheckpointRecord], points: [SeriesPoint], jobs: QueueCounts) {
        self.run = run
        self.checkpoints = checkpoints
        self.points = points
        self.jobs = jobs
    }
}

/// One computed estimate placed on a run's volume-vs-step plot.
public struct SeriesPoint: Sendable, Equatable {
    public var key: EstimateKey
    public var estimateID: Int64
    public var checkpointID: Int64
    public var step: Int64?
    /// nil for an infinite volume.
    public var log10Volume: Double?
    /// 95% bootstrap interval of the natural-log volume (nats), as stored.
    public var intervalLow: Double?
    public var intervalHigh: Double?
    public var createdAt: Date

    public init(key: EstimateKey, estimateID: Int64, checkpointID: Int64, step: Int64?, log10Volume: Double?,
                intervalLow: Double?, intervalHigh: Double?, createdAt: Date) {
        self.key = key
        self.estimateID = estimateID
        self.checkpointID = checkpointID
        self.step = step
        self.log10Volume = log10Volume
        self.intervalLow = intervalLow
        self.intervalHigh = intervalHigh
        self.createdAt = createdAt
    }
}

extension SeriesPoint {
    /// Reads `estimate_id`, `checkpoint_id`, `step`, `log10_volume`, the interval and
    /// `created_at`; the key is the series'.
    init(row: Row, key: EstimateKey) throws {
        self.init(
            key: key,
            estimateID: try row.decode(Int64.self, column: "estimate_id"),
            checkpointID: try row.decode(Int64.self, column: "checkpoint_id"),
            step: try row.decode(Int64?.self, column: "step"),
            log10Volume: try row.decode(Double?.self, column: "log10_volume"),
            intervalLow: try row.decode(Double?.self, column: "interval_low"),
            intervalHigh: try row.decode(Double?.self, column: "interval_high"),
            createdAt: try row.decode(Date.self, column: "created_at"))
    }
}
