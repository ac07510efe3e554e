/// The reads behind the dashboard's pages, its JSON API and `/metrics`. Each is one
/// transaction, so a page never mixes two states of the store.
public struct DashboardStore: Sendable {
    public let connection: Connection

    public init(connection: Connection) {
        self.connection = connection
    }

    // CONTRACT STUB (helper `store` implements): every run, the queue, the last failures.
    public func overview(failureLimit: Int = 10) async throws -> DashboardOverview {
        throw DatabaseError(code: "db.unimplemented", message: "overview")
    }

    // CONTRACT STUB: nil when there is no run with this id.
    public func run(id: Int64) async throws -> RunDetail? {
        throw DatabaseError(code: "db.unimplemented", message: "run")
    }

    // CONTRACT STUB: nil when there is no checkpoint with this id.
    public func checkpoint(id: Int64) async throws -> CheckpointDetail? {
        throw DatabaseError(code: "db.unimplemented", message: "checkpoint")
    }

    // CONTRACT STUB: the run a checkpoint belongs to (the NOTIFY payload is a checkpoint id).
    public func runID(checkpointID: Int64) async throws -> Int64? {
        throw DatabaseError(code: "db.unimplemented", message: "runID")
    }

    // CONTRACT STUB
    public func estimateCounts() async throws -> EstimateCounts {
        throw DatabaseError(code: "db.unimplemented", message: "estimateCounts")
    }
}
