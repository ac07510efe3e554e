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
    /// `kl` or `loss`: what the cutoff bounds.
    public var neighbourhood: String
    /// The parameter patterns the directions move, sorted and joined by single spaces; empty for
    /// every parameter.
    public var parameters: String

    public init(
        evalFingerprint: String, cutoff: Double, preconditioner: String, preconditionerParams: String,
        prior: String, priorCenter: String, sigmaRule: String, directions: Int, seed: Int64, tolerance: Double,
        neighbourhood: String = "kl", parameters: String = ""
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
        self.neighbourhood = neighbourhood
        self.parameters = parameters
    }

    /// The series an estimate belongs to besides its cutoff and preconditioner, as plots and
    /// reports label it: nil for the full KL estimate, else e.g. `loss`, `params: 0.*` or
    /// `loss, params: 0.*` (`EstimateKey.seriesLabel(neighbourhood:parameters:)`).
    public var seriesLabel: String? { Self.seriesLabel(neighbourhood: neighbourhood, parameters: parameters) }

    public static func seriesLabel(neighbourhood: String, parameters: String) -> String? {
        var parts: [String] = []
        if neighbourhood != "kl" { parts.append(neighbourhood) }
        if !parameters.isEmpty { parts.append("params: \(parameters)") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    /// The preconditioner as users write it: `adam:eps=0.001,exponent=0.5`, or the bare name.
    public var preconditionerName: String {
        preconditionerParams.isEmpty ? preconditioner : "\(preconditioner):\(preconditionerParams)"
    }

    init(row: Row) throws {
        self = try Self.columns.read(row, into: EstimateKey(
            evalFingerprint: "", cutoff: 0, preconditioner: "", preconditionerParams: "", prior: "", priorCenter: "",
            sigmaRule: "", directions: 0, seed: 0, tolerance: 0, neighbourhood: "", parameters: ""))
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
        RecordColumn("neighbourhood", \.neighbourhood),
        RecordColumn("parameters", \.parameters),
    ]
}
