/// One direction's contribution: the radius found along it and its log-estimate s_i.
public struct DirectionSample: Sendable, Equatable {
    public let direction: Int
    /// Distance from the anchor along v̂ (+∞ for an unbounded direction).
    public let radius: Double
    public let logEstimate: Double
    /// KL evaluations along this direction by the time this cutoff's radius was found.
    public let klEvaluations: Int

    public init(direction: Int, radius: Double, logEstimate: Double, klEvaluations: Int) {
        self.direction = direction
        self.radius = radius
        self.logEstimate = logEstimate
        self.klEvaluations = klEvaluations
    }
}

/// The estimate for one (cutoff, preconditioner) pair of a checkpoint.
public struct Estimate: Sendable {
    public let cutoff: Double
    public let preconditioner: PreconditionerSpec
    public let prior: EstimateSettings.Prior
    public let priorCenter: EstimateSettings.PriorCenter
    public let sigmaRule: EstimateSettings.SigmaRule
    /// σ as a number (the RMS when `sigmaRule` is `rms`).
    public let sigma: Double
    public let directions: Int
    public let seed: UInt64
    public let tolerance: Double
    public let aggregate: Aggregate
    /// Total KL evaluations over all directions (shared between cutoffs: each cutoff reports
    /// the evaluations made by the time its radii were found).
    public let klEvaluations: Int
    /// Directions whose radius is infinite (the cost stayed below the cutoff out to t_max).
    public let unbounded: Int
    /// Evaluations whose cost was NaN or infinite (treated as beyond the boundary).
    public let nonfinite: Int
    /// Wall time of the ray searches and integrals (shared by the cutoffs of one run).
    public let seconds: Double
    /// Wall time to build the preconditioner (curvature, moments); 0 for `none`.
    public let secondsPreconditioner: Double
    /// Monte-Carlo curvature (`fisher` on a language model) with 2 or more samples: the median
    /// relative standard error of the diagonal P is built from. Nil otherwise: exact curvature,
    /// a single sample (no spread to measure), or no curvature at all.
    public let preconditionerRelativeStandardError: Double?
    public let samples: [DirectionSample]
}

/// What happened to one requested preconditioner.
public enum PreconditionerOutcome: Sendable {
    /// One estimate per cutoff, smallest cutoff first.
    case estimated([Estimate])
    /// It could not run (e.g. no Adam state at step 0); the others still do.
    case skipped(PreconditionerSpec, reason: String)
}
