/// One direction's ray search, for every cutoff of an estimate: what a shard of a sharded
/// estimate computes and stores, and what `VolumeEstimator.estimates(from:)` aggregates.
public struct DirectionOutcome: Sendable, Equatable {
    public let direction: Int
    /// One sample per cutoff, in the settings' cutoff order.
    public let samples: [DirectionSample]
    /// NaN/∞ evaluations along this ray (shared by the cutoffs).
    public let nonfinite: Int
    /// The radius search's fitted growth exponent of the cost; direction 0's warm-starts the others.
    public let exponent: Double

    public init(direction: Int, samples: [DirectionSample], nonfinite: Int, exponent: Double) {
        self.direction = direction
        self.samples = samples
        self.nonfinite = nonfinite
        self.exponent = exponent
    }

    /// KL evaluations along this ray: the search serves every cutoff, so the largest count.
    public var klEvaluations: Int { samples.map(\.klEvaluations).max() ?? 0 }

    /// The radius at the smallest cutoff, where every other direction's search starts; nil
    /// when it is infinite.
    func warmStartRadius(cutoffs: [Double]) -> Double? {
        guard let smallest = cutoffs.indices.min(by: { cutoffs[$0] < cutoffs[$1] }) else { return nil }
        let radius = samples[smallest].radius
        return radius.isFinite ? radius : nil
    }
}

/// How far an estimate has come, for progress displays.
public struct EstimateProgress: Sendable, Equatable {
    public var directionsDone: Int
    /// k.
    public var directions: Int
    /// KL evaluations of the finished directions.
    public var klEvaluations: Int

    public init(directionsDone: Int, directions: Int, klEvaluations: Int) {
        self.directionsDone = directionsDone
        self.directions = directions
        self.klEvaluations = klEvaluations
    }
}
