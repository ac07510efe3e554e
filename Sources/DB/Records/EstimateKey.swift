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

    init(row: Row) throws {
        evalFingerprint = try row.decode(String.self, column: "eval_fingerprint")
        cutoff = try row.decode(Double.self, column: "cutoff")
        preconditioner = try row.decode(String.self, column: "preconditioner")
        preconditionerParams = try row.decode(String.self, column: "preconditioner_params")
        prior = try row.decode(String.self, column: "prior")
        priorCenter = try row.decode(String.self, column: "prior_center")
        sigmaRule = try row.decode(String.self, column: "sigma_rule")
        directions = try row.decode(Int.self, column: "directions")
        seed = try row.decode(Int64.self, column: "seed")
        tolerance = try row.decode(Double.self, column: "tolerance")
    }

    static let columns = """
        eval_fingerprint, cutoff, preconditioner, preconditioner_params, prior, prior_center,
        sigma_rule, directions, seed, tolerance
        """

    var parameters: [any PostgresEncodable] {
        [evalFingerprint, cutoff, preconditioner, preconditionerParams, prior, priorCenter,
         sigmaRule, directions, seed, tolerance]
    }
}
