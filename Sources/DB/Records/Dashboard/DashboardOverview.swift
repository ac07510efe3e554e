/// What the dashboard's front page shows: every run, the whole queue, the last failures.
public struct DashboardOverview: Sendable, Equatable {
    /// Ordered by name, then id (names need not be unique).
    public var runs: [RunOverview]
    /// Jobs per state over every run.
    public var queue: QueueCounts
    /// Most recent first.
    public var failures: [JobFailure]

    public init(runs: [RunOverview], queue: QueueCounts, failures: [JobFailure]) {
        self.runs = runs
        self.queue = queue
        self.failures = failures
    }
}
