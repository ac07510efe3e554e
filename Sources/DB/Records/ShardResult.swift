/// What one shard computed for one preconditioner: its directions' searches and compute
/// seconds, or why the preconditioner was skipped. The daemon hands these to
/// `JobQueue.complete(_:results:aggregate:)`; the shard that finishes its estimate gets them back
/// merged over every shard (all k directions) to aggregate.
public struct ShardResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// `directions` in direction order.
        case computed(seconds: Double, directions: [ShardDirection])
        /// Must not be empty.
        case skipped(reason: String)
    }

    public var preconditioner: String
    /// Canonical "key=value,…", as in `estimates.preconditioner_params`.
    public var preconditionerParams: String
    public var outcome: Outcome

    public init(preconditioner: String, preconditionerParams: String, outcome: Outcome) {
        self.preconditioner = preconditioner
        self.preconditionerParams = preconditionerParams
        self.outcome = outcome
    }

    /// As users write it: `adam:eps=0.001,exponent=0.5`, or the bare name.
    public var preconditionerName: String {
        preconditionerParams.isEmpty ? preconditioner : "\(preconditioner):\(preconditionerParams)"
    }
}

/// One direction's ray search: a sample per cutoff, and what the cutoffs share.
public struct ShardDirection: Sendable, Equatable {
    public var direction: Int
    /// In the settings' cutoff order.
    public var samples: [ShardSample]
    public var nonfinite: Int
    /// The search's fitted cost exponent.
    public var exponent: Double

    public init(direction: Int, samples: [ShardSample], nonfinite: Int, exponent: Double) {
        self.direction = direction
        self.samples = samples
        self.nonfinite = nonfinite
        self.exponent = exponent
    }
}

/// A direction's sample at one cutoff (`estimate_samples`' numbers, with the cutoff).
public struct ShardSample: Sendable, Equatable {
    public var cutoff: Double
    /// +∞ for an unbounded direction.
    public var radius: Double
    public var logEstimate: Double
    public var klEvaluations: Int

    public init(cutoff: Double, radius: Double, logEstimate: Double, klEvaluations: Int) {
        self.cutoff = cutoff
        self.radius = radius
        self.logEstimate = logEstimate
        self.klEvaluations = klEvaluations
    }
}

/// A running shard's progress, written with its heartbeat.
public struct ShardProgress: Sendable, Equatable {
    /// Direction searches finished (over all the preconditioners it computes).
    public var done: Int
    /// Direction searches it computes in all; nil until known.
    public var total: Int?

    public init(done: Int, total: Int?) {
        self.done = done
        self.total = total
    }
}
