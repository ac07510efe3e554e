/// One row of `llc_estimates` (with its `llc_samples`) as the daemon hands it to
/// `JobQueue.completeLLC` or `LLCStore.insert`: the identity (eval data and settings key), the
/// settings as run, the per-chain results and traces. Built from the estimator's `LLCEstimate`
/// by the daemon; the database module does not know the estimator.
public struct LLCRecord: Sendable, Equatable {
    /// One SGLD chain: its LLC (NaN when it diverged), its loss at every step (burn-in first),
    /// whether the draws' trace is flat, and where it diverged.
    public struct Chain: Sendable, Equatable {
        public struct Divergence: Sendable, Equatable {
            public var step: Int
            /// 'non_finite' or 'blow_up'.
            public var kind: String
            public var loss: Double

            public init(step: Int, kind: String, loss: Double) {
                self.step = step
                self.kind = kind
                self.loss = loss
            }
        }

        public var llc: Double
        public var losses: [Double]
        public var flatAfterBurnIn: Bool
        public var divergence: Divergence?

        public init(llc: Double, losses: [Double], flatAfterBurnIn: Bool, divergence: Divergence?) {
            self.llc = llc
            self.losses = losses
            self.flatAfterBurnIn = flatAfterBurnIn
            self.divergence = divergence
        }
    }

    public var evalFingerprint: String
    /// `EvalProvenance.json` as text, stored as `eval_data` jsonb.
    public var evalData: String?
    /// SHA-256 of the LLC settings (the identity with the checkpoint and eval fingerprint).
    public var settingsKey: String
    /// Sorted glob patterns joined by single spaces; '' = every weight.
    public var parameters: String
    public var epsilon: Double
    public var gamma: Double
    /// nβ as resolved, and its rule: "auto" or the number as configured.
    public var nbeta: Double
    public var nbetaRule: String
    public var draws: Int
    public var burnIn: Int
    public var batchSize: Int
    public var seed: Int64
    public var dimension: Int
    public var initLoss: Double
    public var mean: Double
    public var standardDeviation: Double
    public var seconds: Double
    public var secondsPerDraw: Double
    public var softwareVersion: String
    public var chains: [Chain]

    public init(evalFingerprint: String, evalData: String?, settingsKey: String, parameters: String, epsilon: Double,
                gamma: Double, nbeta: Double, nbetaRule: String, draws: Int, burnIn: Int, batchSize: Int, seed: Int64,
                dimension: Int, initLoss: Double, mean: Double, standardDeviation: Double, seconds: Double,
                secondsPerDraw: Double, softwareVersion: String, chains: [Chain]) {
        self.evalFingerprint = evalFingerprint
        self.evalData = evalData
        self.settingsKey = settingsKey
        self.parameters = parameters
        self.epsilon = epsilon
        self.gamma = gamma
        self.nbeta = nbeta
        self.nbetaRule = nbetaRule
        self.draws = draws
        self.burnIn = burnIn
        self.batchSize = batchSize
        self.seed = seed
        self.dimension = dimension
        self.initLoss = initLoss
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.seconds = seconds
        self.secondsPerDraw = secondsPerDraw
        self.softwareVersion = softwareVersion
        self.chains = chains
    }

    /// Chains that diverged.
    public var divergedChains: Int { chains.count { $0.divergence != nil } }
}

extension LLCRecord {
    /// The `llc_estimates` columns the record fills, in the order of `values`.
    static let columnNames = [
        "eval_fingerprint", "eval_data", "settings_key", "parameters", "epsilon", "gamma", "nbeta", "nbeta_rule",
        "chains", "draws", "burn_in", "batch_size", "seed", "dimension", "init_loss", "llc_mean", "llc_std",
        "llc_per_chain", "flat_after_burn_in", "divergence_step", "divergence_kind", "divergence_loss",
        "diverged_chains", "seconds", "seconds_per_draw", "software_version",
    ]

    /// SQL casts of the columns that need one (`$n::type`).
    static let casts: [String: String] = [
        "eval_data": "jsonb", "llc_per_chain": "float8[]", "flat_after_burn_in": "boolean[]",
        "divergence_step": "integer[]", "divergence_kind": "text[]", "divergence_loss": "float8[]",
    ]

    var values: [any PostgresEncodable] {
        [evalFingerprint, evalData, settingsKey, parameters, epsilon, gamma, nbeta, nbetaRule,
         chains.count, draws, burnIn, batchSize, seed, dimension, initLoss, mean, standardDeviation,
         chains.map(\.llc), chains.map(\.flatAfterBurnIn), chains.map { $0.divergence?.step },
         chains.map { $0.divergence?.kind }, chains.map { $0.divergence?.loss },
         divergedChains, seconds, secondsPerDraw, softwareVersion]
    }
}
