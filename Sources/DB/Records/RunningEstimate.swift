import Foundation

/// An estimate under way (`volumed status`, `STATUS=`): the shards of one checkpoint and
/// settings key with one running, or some done and some still queued.
public struct RunningEstimate: Sendable, Equatable {
    public let checkpointID: Int64
    public let run: String
    public let step: Int64?
    public let checkpointPath: String
    /// k, from the job's settings (nil when they do not say).
    public let directions: Int?
    public let shards: Int
    public let shardsDone: Int
    public let shardsRunning: Int
    public let shardsQueued: Int
    public let shardsFailed: Int
    /// Direction searches finished: done shards' and running shards' reported progress.
    public let directionsDone: Int
    /// Direction searches of the whole estimate: k × the preconditioners computed, scaled from
    /// the shards that know theirs; nil until one does.
    public let directionsTotal: Int?
    /// When its first shard was claimed.
    public let startedAt: Date?
    /// The database's clock when read (elapsed time is measured on it).
    public let now: Date

    /// Seconds since the first shard started.
    public var elapsed: Double? { startedAt.map { max(0, now.timeIntervalSince($0)) } }

    /// Seconds left at the rate so far (shards in parallel included); nil before any progress.
    public var remaining: Double? {
        guard let elapsed, let total = directionsTotal, directionsDone > 0 else { return nil }
        return elapsed * Double(max(0, total - directionsDone)) / Double(directionsDone)
    }

    public init(checkpointID: Int64, run: String, step: Int64?, checkpointPath: String, directions: Int?, shards: Int,
                shardsDone: Int, shardsRunning: Int, shardsQueued: Int, shardsFailed: Int, directionsDone: Int,
                directionsTotal: Int?, startedAt: Date?, now: Date) {
        self.checkpointID = checkpointID
        self.run = run
        self.step = step
        self.checkpointPath = checkpointPath
        self.directions = directions
        self.shards = shards
        self.shardsDone = shardsDone
        self.shardsRunning = shardsRunning
        self.shardsQueued = shardsQueued
        self.shardsFailed = shardsFailed
        self.directionsDone = directionsDone
        self.directionsTotal = directionsTotal
        self.startedAt = startedAt
        self.now = now
    }

    init(row: Row) throws {
        checkpointID = try row.decode(Int64.self, column: "checkpoint_id")
        run = try row.decode(String.self, column: "run")
        step = try row.decode(Int64?.self, column: "step")
        checkpointPath = try row.decode(String.self, column: "path")
        directions = try row.decode(Int?.self, column: "k")
        shards = try row.decode(Int.self, column: "shards")
        shardsDone = try row.decode(Int.self, column: "done")
        shardsRunning = try row.decode(Int.self, column: "running")
        shardsQueued = try row.decode(Int.self, column: "queued")
        shardsFailed = try row.decode(Int.self, column: "failed")
        directionsDone = try row.decode(Int.self, column: "directions_done")
        let knownTotal = try row.decode(Int?.self, column: "known_total")
        let knownDirections = try row.decode(Int?.self, column: "known_directions")
        let allDirections = try row.decode(Int?.self, column: "all_directions")
        if let knownTotal, let knownDirections, let allDirections, knownDirections > 0 {
            directionsTotal = Int((Double(knownTotal) * Double(allDirections) / Double(knownDirections)).rounded())
        } else {
            directionsTotal = nil
        }
        startedAt = try row.decode(Date?.self, column: "started_at")
        now = try row.decode(Date.self, column: "now")
    }

    static let query = """
        WITH shard AS (
            SELECT j.*, (j.settings->>'directions')::integer AS k,
                   coalesce(j.direction_count, (j.settings->>'directions')::integer - j.first_direction) AS span
            FROM jobs j
            WHERE j.kind = 'volume'
        )
        SELECT s.checkpoint_id, r.name AS run, c.step, c.path, min(s.k) AS k, count(*) AS shards,
               count(*) FILTER (WHERE s.state = 'done') AS done,
               count(*) FILTER (WHERE s.state = 'running') AS running,
               count(*) FILTER (WHERE s.state = 'queued') AS queued,
               count(*) FILTER (WHERE s.state = 'failed') AS failed,
               coalesce(sum(s.directions_done) FILTER (WHERE s.state IN ('done', 'running')), 0)::integer AS directions_done,
               sum(s.directions_total) FILTER (WHERE s.state IN ('done', 'running'))::integer AS known_total,
               sum(s.span) FILTER (WHERE s.state IN ('done', 'running') AND s.directions_total IS NOT NULL)::integer
                   AS known_directions,
               sum(s.span)::integer AS all_directions,
               min(s.started_at) AS started_at, now() AS now
        FROM shard s
        JOIN checkpoints c ON c.id = s.checkpoint_id
        JOIN runs r ON r.id = c.run_id
        GROUP BY s.checkpoint_id, s.settings_key, r.name, c.step, c.path
        HAVING count(*) FILTER (WHERE s.state = 'running') > 0
            OR (count(*) FILTER (WHERE s.state = 'done') > 0 AND count(*) FILTER (WHERE s.state = 'queued') > 0)
        ORDER BY min(s.id)
        """
}
