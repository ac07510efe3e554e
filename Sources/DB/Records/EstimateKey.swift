/// What makes an estimate unique for a checkpoint (the `estimates_identity` constraint, less
/// the checkpoint): a worker computes only the keys `ResultStore.existingEstimateKeys` lacks.
/// Doubles compare exactly; they round-trip through the database unchanged.
public struct EstimateKey: Sendable, Hashable {
    public var evalFingerprint: String
    public var cutoff: Double
    public var preconditioner: String
    /// Canonical `key=value,…` (e.g. `eps=0.001,exponent=0.5`); empty when there are none.
    public var preconditionerParams: String
    /// `gaussian` or `uniform`.
    public var prior: String
    /// `zero` or `anchor`.
    public var priorCenter: String
    /// `rms` or the number as configured.
    public var sigmaRule: String
    public var directions: Int
    public var seed: Int64
    public var tolerance: Double

    public init(
        evalFingerprint: String, cutoff: Double, preconditioner: String, preconditionerParams: String,
        prior: String, priorCenter: String, sigmaRule: String, directions: Int, seed: Int64, tolerance: Double
    ) {
        self.evalFingerprint = evalFingerprint
        self.cutoff = cutoff
        self.preconditioner = preconditioner
        self.preconditionerParams = preconditionerParams
        self.prior = prior
        self.priorCenter = priorCenter
        self.sigmaRule = sigmaRule
        self.directions = directions
        self.seed = seed
        self.tolerance = tolerance
    }

    /// The preconditioner as users write it: `adam:eps=0.001,exponent=0.5`, or the bare name.
    public var preconditionerName: String {
        preconditionerParams.isEmpty ? preconditioner : "\(preconditioner):\(preconditionerParams)"
    }

    init(row: Row) throws {
        self = try Self.columns.read(row, into: EstimateKey(
            evalFingerprint: "", cutoff: 0, preconditioner: "", preconditionerParams: "", prior: "", priorCenter: "",
            sigmaRule: "", directions: 0, seed: 0, tolerance: 0))
    }

    /// The key's columns of `estimates` (the `estimates_identity` constraint, less the checkpoint).
    static let columns: [RecordColumn<EstimateKey>] = [
        RecordColumn("eval_fingerprint", \.evalFingerprint),
        RecordColumn("cutoff", \.cutoff),
        RecordColumn("preconditioner", \.preconditioner),
        RecordColumn("preconditioner_params", \.preconditionerParams),
        RecordColumn("prior", \.prior),
        RecordColumn("prior_center", \.priorCenter),
        RecordColumn("sigma_rule", \.sigmaRule),
        RecordColumn("directions", \.directions),
        RecordColumn("seed", \.seed),
        RecordColumn("tolerance", \.tolerance),
    ]
}
