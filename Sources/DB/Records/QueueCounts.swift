/// Jobs per state (`volumed status`), plus running jobs whose lease has expired (their
/// worker is presumably gone; the next claim takes them over).
public struct QueueCounts: Sendable, Equatable {
    public var queued: Int
    public var running: Int
    public var done: Int
    public var failed: Int
    public var expiredLeases: Int

    public init(queued: Int = 0, running: Int = 0, done: Int = 0, failed: Int = 0, expiredLeases: Int = 0) {
        self.queued = queued
        self.running = running
        self.done = done
        self.failed = failed
        self.expiredLeases = expiredLeases
    }
}

extension QueueCounts {
    /// Per-state counts over `jobs j` (group by `j.state`, and whatever else the caller groups
    /// by): the columns `init(rows:)` reads.
    static let selectList = """
        j.state, count(*) AS jobs,
        count(*) FILTER (WHERE j.state = 'running' AND j.lease_expires_at < now()) AS expired
        """

    /// The counts from rows of `selectList`, one per state (states this build does not know
    /// are left out).
    init(rows: some Sequence<Row>) throws {
        self.init()
        for row in rows {
            let jobs = try row.decode(Int.self, column: "jobs")
            switch JobState(rawValue: try row.decode(String.self, column: "state")) {
            case .queued: queued = jobs
            case .running:
                running = jobs
                expiredLeases = try row.decode(Int.self, column: "expired")
            case .done: done = jobs
            case .failed: failed = jobs
            case nil: break
            }
        }
    }
}
