/// One run on the front page: how far it got, its newest volumes, its jobs.
public struct RunOverview: Sendable, Equatable {
    public var run: RunRecord
    /// Checkpoint rows (every version of every step).
    public var checkpoints: Int
    /// The highest step of any checkpoint; nil when none has a step.
    public var latestStep: Int64?
    /// This run's jobs per state.
    public var jobs: QueueCounts
    /// One per series (estimate key) that has a computed estimate: the newest step's value
    /// and the one before it. Ordered by preconditioner, parameters, cutoff, then the rest of the key.
    public var latest: [LatestVolume]

    public init(run: RunRecord, checkpoints: Int, latestStep: Int64?, jobs: QueueCounts, latest: [LatestVolume]) {
        self.run = run
        self.checkpoints = checkpoints
        self.latestStep = latestStep
        self.jobs = jobs
        self.latest = latest
    }
}

/// A series' newest point and the point of the checkpoint before it (by step; the newest
/// version of each step), so the page can show the change.
public struct LatestVolume: Sendable, Equatable {
    public var key: EstimateKey
    public var checkpointID: Int64
    public var step: Int64?
    /// nil for an infinite volume.
    public var log10Volume: Double?
    public var previousCheckpointID: Int64?
    public var previousStep: Int64?
    public var previousLog10Volume: Double?

    public init(key: EstimateKey, checkpointID: Int64, step: Int64?, log10Volume: Double?,
                previousCheckpointID: Int64?, previousStep: Int64?, previousLog10Volume: Double?) {
        self.key = key
        self.checkpointID = checkpointID
        self.step = step
        self.log10Volume = log10Volume
        self.previousCheckpointID = previousCheckpointID
        self.previousStep = previousStep
        self.previousLog10Volume = previousLog10Volume
    }

    /// log10 volume now minus before; nil when either is missing or infinite.
    public var change: Double? {
        guard let now = log10Volume, let before = previousLog10Volume, now.isFinite, before.isFinite else { return nil }
        return now - before
    }
}

extension LatestVolume {
    /// Reads the key's columns, `checkpoint_id`, `step`, `log10_volume` and their `previous_`
    /// counterparts.
    init(row: Row) throws {
        self.init(
            key: try EstimateKey(row: row),
            checkpointID: try row.decode(Int64.self, column: "checkpoint_id"),
            step: try row.decode(Int64?.self, column: "step"),
            log10Volume: try row.decode(Double?.self, column: "log10_volume"),
            previousCheckpointID: try row.decode(Int64?.self, column: "previous_checkpoint_id"),
            previousStep: try row.decode(Int64?.self, column: "previous_step"),
            previousLog10Volume: try row.decode(Double?.self, column: "previous_log10_volume"))
    }
}
