import Foundation

/// An LLC estimate read back from the database, with every chain's trace.
public struct StoredLLC: Sendable, Equatable {
    public let id: Int64
    public let checkpointID: Int64
    /// The job that inserted it (nil once that job was deleted, or when stored by hand).
    public let jobID: Int64?
    public let record: LLCRecord
    public let createdAt: Date
}

/// One point of an LLC-vs-step series (`volumed report`): a row of the `llc_by_step` view.
public struct LLCPoint: Sendable, Equatable {
    public let run: String
    public let runID: Int64
    public let step: Int64?
    public let checkpointID: Int64
    public let evalFingerprint: String
    /// Sorted glob patterns joined by single spaces; '' = every weight.
    public let parameters: String
    /// NaN when every chain diverged.
    public let mean: Double
    public let standardDeviation: Double
    public let chains: Int
    public let divergedChains: Int

    public init(run: String, runID: Int64, step: Int64?, checkpointID: Int64, evalFingerprint: String, parameters: String,
                mean: Double, standardDeviation: Double, chains: Int, divergedChains: Int) {
        self.run = run
        self.runID = runID
        self.step = step
        self.checkpointID = checkpointID
        self.evalFingerprint = evalFingerprint
        self.parameters = parameters
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.chains = chains
        self.divergedChains = divergedChains
    }

    init(row: Row) throws {
        run = try row.decode(String.self, column: "run")
        runID = try row.decode(Int64.self, column: "run_id")
        step = try row.decode(Int64?.self, column: "step")
        checkpointID = try row.decode(Int64.self, column: "checkpoint_id")
        evalFingerprint = try row.decode(String.self, column: "eval_fingerprint")
        parameters = try row.decode(String.self, column: "parameters")
        mean = try row.decode(Double.self, column: "llc_mean")
        standardDeviation = try row.decode(Double.self, column: "llc_std")
        chains = try row.decode(Int.self, column: "chains")
        divergedChains = try row.decode(Int.self, column: "diverged_chains")
    }
}

/// An LLC job under way (`volumed status`): running, with the SGLD steps its heartbeats report.
public struct RunningLLC: Sendable, Equatable {
    public let jobID: Int64
    public let checkpointID: Int64
    public let run: String
    public let step: Int64?
    public let checkpointPath: String
    /// SGLD steps done and to do over all chains (nil until the worker knows).
    public let stepsDone: Int
    public let stepsTotal: Int?
    public let startedAt: Date?
    /// The database's clock when read.
    public let now: Date

    /// Seconds since the attempt started.
    public var elapsed: Double? { startedAt.map { max(0, now.timeIntervalSince($0)) } }

    init(row: Row) throws {
        jobID = try row.decode(Int64.self, column: "id")
        checkpointID = try row.decode(Int64.self, column: "checkpoint_id")
        run = try row.decode(String.self, column: "run")
        step = try row.decode(Int64?.self, column: "step")
        checkpointPath = try row.decode(String.self, column: "path")
        stepsDone = try row.decode(Int.self, column: "directions_done")
        stepsTotal = try row.decode(Int?.self, column: "directions_total")
        startedAt = try row.decode(Date?.self, column: "started_at")
        now = try row.decode(Date.self, column: "now")
    }
}
