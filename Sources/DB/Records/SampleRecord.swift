/// One direction's sample of an estimate (a row of `estimate_samples`).
public struct SampleRecord: Sendable, Equatable {
    public let direction: Int
    /// Distance to the boundary along the direction; `.infinity` for an unbounded direction.
    public let radius: Double
    /// The direction's log-estimate s_i (nats).
    public let logEstimate: Double
    public let klEvaluations: Int

    public init(direction: Int, radius: Double, logEstimate: Double, klEvaluations: Int) {
        self.direction = direction
        self.radius = radius
        self.logEstimate = logEstimate
        self.klEvaluations = klEvaluations
    }
}
