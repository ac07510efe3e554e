/// One row of `estimates` as the daemon hands it to `JobQueue.complete`: the key, the
/// resolved σ, the software version, and either the computed result or why the
/// preconditioner was skipped.
public struct EstimateRecord: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case computed(EstimateResult)
        /// E.g. `no optimizer state (optimizer.pt missing)`; must not be empty.
        case skipped(reason: String)
    }

    public var key: EstimateKey
    /// The σ the rule resolved to (nil if it could not be resolved, e.g. skipped early).
    public var sigma: Double?
    public var softwareVersion: String
    public var outcome: Outcome

    public init(key: EstimateKey, sigma: Double?, softwareVersion: String, outcome: Outcome) {
        self.key = key
        self.sigma = sigma
        self.softwareVersion = softwareVersion
        self.outcome = outcome
    }
}

/// The numbers of a computed estimate, named as in the CLI's JSON. `logVolume`,
/// `log10Volume`, `bits`, `ess` and the interval are nil exactly when the volume is infinite
/// (uniform measure with unbounded directions, `unbounded > 0`).
public struct EstimateResult: Sendable, Equatable {
    public var logVolume: Double?
    public var log10Volume: Double?
    public var bits: Double?
    public var maxSample: Double
    public var ess: Double?
    /// 95% bootstrap interval of `logVolume` (nats).
    public var intervalLow: Double?
    public var intervalHigh: Double?
    public var klEvaluations: Int64
    public var unbounded: Int
    public var nonfinite: Int
    public var seconds: Double
    public var secondsPreconditioner: Double?
    /// Relative standard error of a Monte-Carlo preconditioner (Fisher of a language model).
    public var preconditionerRelativeStandardError: Double?
    public var samples: [SampleRecord]

    public init(
        logVolume: Double?, log10Volume: Double?, bits: Double?, maxSample: Double, ess: Double?,
        intervalLow: Double?, intervalHigh: Double?, klEvaluations: Int64, unbounded: Int,
        nonfinite: Int, seconds: Double, secondsPreconditioner: Double?,
        preconditionerRelativeStandardError: Double? = nil, samples: [SampleRecord]
    ) {
        self.logVolume = logVolume
        self.log10Volume = log10Volume
        self.bits = bits
        self.maxSample = maxSample
        self.ess = ess
        self.intervalLow = intervalLow
        self.intervalHigh = intervalHigh
        self.klEvaluations = klEvaluations
        self.unbounded = unbounded
        self.nonfinite = nonfinite
        self.seconds = seconds
        self.secondsPreconditioner = secondsPreconditioner
        self.preconditionerRelativeStandardError = preconditionerRelativeStandardError
        self.samples = samples
    }
}
