import Foundation

/// A row of `checkpoints`: one version of a checkpoint, identified by (run, step, content
/// fingerprint).
public struct CheckpointRecord: Sendable, Equatable {
    public let id: Int64
    public let runID: Int64
    /// nil for checkpoints without a step (e.g. a bare `model.safetensors`).
    public let step: Int64?
    public let path: String
    public let fingerprint: String
    /// Known once the checkpoint has been read (`ResultStore.describeCheckpoint`).
    public let nParams: Int64?
    public let architecture: String?
    public let createdAt: Date

    public init(id: Int64, runID: Int64, step: Int64?, path: String, fingerprint: String,
                nParams: Int64?, architecture: String?, createdAt: Date) {
        self.id = id
        self.runID = runID
        self.step = step
        self.path = path
        self.fingerprint = fingerprint
        self.nParams = nParams
        self.architecture = architecture
        self.createdAt = createdAt
    }

    init(row: Row, prefix: String = "") throws {
        id = try row.decode(Int64.self, column: prefix + "id")
        runID = try row.decode(Int64.self, column: prefix + "run_id")
        step = try row.decode(Int64?.self, column: prefix + "step")
        path = try row.decode(String.self, column: prefix + "path")
        fingerprint = try row.decode(String.self, column: prefix + "fingerprint")
        nParams = try row.decode(Int64?.self, column: prefix + "n_params")
        architecture = try row.decode(String?.self, column: prefix + "architecture")
        createdAt = try row.decode(Date.self, column: prefix + "created_at")
    }

    static let columnNames = ["id", "run_id", "step", "path", "fingerprint", "n_params", "architecture", "created_at"]

    /// `table.column AS prefix + column, …` for selecting this record out of a join.
    static func selectList(from table: String, prefix: String) -> String {
        columnNames.map { "\(table).\($0) AS \(prefix)\($0)" }.joined(separator: ", ")
    }
}
