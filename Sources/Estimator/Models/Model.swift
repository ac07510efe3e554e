/// A network at its anchor θ0: its flat parameter layout and values, and the KL and loss costs
/// it induces on evaluation data.
public protocol Model: Sendable {
    /// `mlp`, `gpt_neox`, `gpt2`, `llama`.
    var architecture: String { get }
    var layout: ParameterLayout { get }
    /// θ0 as one flat vector in `layout` order.
    var anchor: [Float] { get }
    /// C(θ) = mean KL(p_θ0 ‖ p_θ) over the evaluation positions, with the anchor's
    /// distribution computed once here.
    func klObjective(data: EvalData) throws(EstimatorError) -> any KLObjective
    /// C(θ) = max(0, CE(θ) − CE(θ0)) with CE the mean cross-entropy over the evaluation
    /// positions: against `labels` (one class per row; required, `eval.no_labels`) for
    /// classifiers, against the next token for language models (`labels` unused).
    func lossObjective(data: EvalData, labels: [Int]?) throws(EstimatorError) -> any KLObjective
}

/// The cost along rays of one checkpoint on one evaluation set — the KL, or the loss's increase
/// (`NeighbourhoodCost`) — over some coordinates (all, or a `SubsetObjective`'s); shared
/// read-only by all workers.
public protocol KLObjective: Sendable {
    var dimension: Int { get }
    /// Positions the cost is averaged over (examples, or unmasked token positions).
    var positions: Int { get }
    /// Scratch state for one worker thread.
    func makeEvaluator() -> any RayEvaluator
    /// Scratch state for one worker that runs each evaluation on `lanes` threads (itself and
    /// lanes − 1 helpers), with results identical for any number of lanes. Objectives whose
    /// evaluations are too small to share ignore `lanes`.
    func makeEvaluator(lanes: Int) -> any RayEvaluator
}

extension KLObjective {
    public func makeEvaluator(lanes: Int) -> any RayEvaluator { makeEvaluator() }
}

/// Evaluates C(θ0 + t·v̂) along one ray at a time. Owned by one thread; allocation-free after init.
public protocol RayEvaluator: AnyObject {
    /// Sets the unit direction v̂ (flat layout). A materialized direction's buffer must stay valid
    /// and unchanged until the next call; work that is linear in t is done here once per direction.
    func setDirection(_ direction: RayDirection)
    /// The cost (mean KL, or loss increase) at distance `t` along the current direction; NaN or ±∞ when the perturbed
    /// network's outputs are not finite.
    func cost(at t: Double) -> Double
}

extension RayEvaluator {
    /// Sets a direction held in `buffer`, which must stay valid and unchanged until the next call.
    public func setDirection(_ buffer: UnsafeBufferPointer<Float>) {
        setDirection(.materialized(buffer))
    }
}
