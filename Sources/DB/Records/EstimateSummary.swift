import Foundation

/// A recent result for `volumed status`: which run and step, under which cutoff and
/// preconditioner, and the log10 volume (nil when infinite or skipped).
public struct EstimateSummary: Sendable, Equatable {
    public let estimateID: Int64
    public let run: String
    public let checkpointID: Int64
    public let step: Int64?
    public let cutoff: Double
    public let preconditioner: String
    public let preconditionerParams: String
    public let log10Volume: Double?
    /// The reason, for a skipped preconditioner.
    public let skipped: String?
    public let createdAt: Date
    /// nil for a full KL estimate, else e.g. `loss` or `params: 0.*` (`EstimateKey.seriesLabel`).
    public let seriesLabel: String?

    init(row: Row) throws {
        estimateID = try row.decode(Int64.self, column: "estimate_id")
        run = try row.decode(String.self, column: "run")
        checkpointID = try row.decode(Int64.self, column: "checkpoint_id")
        step = try row.decode(Int64?.self, column: "step")
        cutoff = try row.decode(Double.self, column: "cutoff")
        preconditioner = try row.decode(String.self, column: "preconditioner")
        preconditionerParams = try row.decode(String.self, column: "preconditioner_params")
        log10Volume = try row.decode(Double?.self, column: "log10_volume")
        skipped = try row.decode(String?.self, column: "skipped")
        createdAt = try row.decode(Date.self, column: "created_at")
        seriesLabel = EstimateKey.seriesLabel(neighbourhood: try row.decode(String.self, column: "neighbourhood"),
                                              parameters: try row.decode(String.self, column: "parameters"))
    }
}
