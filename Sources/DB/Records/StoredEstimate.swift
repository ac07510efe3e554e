import Foundation

/// An estimate read back from the database, with its samples (in direction order).
public struct StoredEstimate: Sendable, Equatable {
    public let id: Int64
    public let checkpointID: Int64
    /// The job that inserted it (nil once that job was deleted).
    public let jobID: Int64?
    public let record: EstimateRecord
    public let createdAt: Date

    public init(id: Int64, checkpointID: Int64, jobID: Int64?, record: EstimateRecord, createdAt: Date) {
        self.id = id
        self.checkpointID = checkpointID
        self.jobID = jobID
        self.record = record
        self.createdAt = createdAt
    }
}

extension StoredEstimate {
    init(row: Row, samples: [SampleRecord]) throws {
        id = try row.decode(Int64.self, column: "id")
        checkpointID = try row.decode(Int64.self, column: "checkpoint_id")
        jobID = try row.decode(Int64?.self, column: "job_id")
        createdAt = try row.decode(Date.self, column: "created_at")
        record = try EstimateRecord(row: row, samples: samples)
    }
}
