/// One point of a volume-vs-step series (`volumed report`): a row of the `volume_by_step`
/// view.
public struct VolumePoint: Sendable, Equatable {
    public let run: String
    public let runID: Int64
    public let step: Int64?
    public let checkpointID: Int64
    public let cutoff: Double
    public let preconditioner: String
    public let preconditionerParams: String
    /// nil for an infinite volume.
    public let log10Volume: Double?
    public let logVolume: Double?
    /// 95% bootstrap interval of the natural-log volume.
    public let intervalLow: Double?
    public let intervalHigh: Double?
    /// `kl` or `loss`.
    public let neighbourhood: String
    /// Sorted patterns joined by spaces; "" for every parameter.
    public let parameters: String

    /// nil for the full KL series, else its label (`EstimateKey.seriesLabel`).
    public var seriesLabel: String? { EstimateKey.seriesLabel(neighbourhood: neighbourhood, parameters: parameters) }

    init(row: Row) throws {
        run = try row.decode(String.self, column: "run")
        runID = try row.decode(Int64.self, column: "run_id")
        step = try row.decode(Int64?.self, column: "step")
        checkpointID = try row.decode(Int64.self, column: "checkpoint_id")
        cutoff = try row.decode(Double.self, column: "cutoff")
        preconditioner = try row.decode(String.self, column: "preconditioner")
        preconditionerParams = try row.decode(String.self, column: "preconditioner_params")
        log10Volume = try row.decode(Double?.self, column: "log10_volume")
        logVolume = try row.decode(Double?.self, column: "log_volume")
        intervalLow = try row.decode(Double?.self, column: "interval_low")
        intervalHigh = try row.decode(Double?.self, column: "interval_high")
        neighbourhood = try row.decode(String.self, column: "neighbourhood")
        parameters = try row.decode(String.self, column: "parameters")
    }
}
