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
