/// Reverse mode at the anchor θ0 on fixed evaluation data, written against the model's own
/// forward pass (no autodiff framework). It pulls vectors in output space back to parameter
/// space: a cotangent g_e per example e (one row of the [examples, classes] logits), mapped to
/// J_eᵀ g_e = (∂logits_e/∂θ)ᵀ g_e. The curvature preconditioners are built from these pullbacks
/// (`FisherDiagonal`, `GaussNewton`).
///
/// An *example* is one output position, the unit whose pullback is squared on its own: one
/// input row for an MLP, one token position of one sequence for a language model. J_e is the
/// whole Jacobian of that position's logits — for a language model it reaches every earlier
/// position through attention (`TransformerBackwardPass`).
public protocol BackwardPass<Scalar> {
    associatedtype Scalar: BLASScalar

    /// D, the length of the flat parameter vector.
    var dimension: Int { get }
    var examples: Int { get }
    /// p_θ0 at every example, and which examples the KL counts.
    var anchor: AnchorProbabilities { get }

    /// Pulls back `cotangents` ([examples.count, classes], row-major) and adds
    /// Σ_e J_eᵀ g_e to `sum` and the per-example squares Σ_e (J_eᵀ g_e)∘(J_eᵀ g_e) to `squares`
    /// (each D long; either may be nil).
    func pullback(examples: Range<Int>, cotangents: UnsafePointer<Scalar>,
                  sum: UnsafeMutablePointer<Scalar>?, squares: UnsafeMutablePointer<Scalar>?)

    /// Writes J_eᵀ g_e of each example as one row of `rows` ([examples.count, dimension]).
    func jacobianRows(examples: Range<Int>, cotangents: UnsafePointer<Scalar>, into rows: UnsafeMutablePointer<Scalar>)
}

/// A model with reverse mode at its anchor: what the `fisher` and `hessian` preconditioners
/// need (the MLP and every language model have it; an architecture added without one would
/// skip those two preconditioners with a reason).
public protocol CurvatureModel: Model {
    /// The anchor's forward pass on `data` in float32, kept for backward passes.
    func backwardPass(data: EvalData) throws(EstimatorError) -> any BackwardPass<Float>
}

extension CurvatureModel {
    /// The diagonal of the KL's Hessian at the anchor (the Fisher / GGN diagonal): exact for few
    /// classes, else Monte-Carlo with `samples` label draws (`FisherDiagonal.Method.natural`).
    public func fisherDiagonal(data: EvalData, samples: Int = 1) throws(EstimatorError) -> FisherDiagonal {
        let pass = try backwardPass(data: data)
        return FisherDiagonal(pass, method: FisherDiagonal.Method.natural(for: pass, samples: samples))
    }

    /// The full Gauss-Newton matrix (= the KL's Hessian at the anchor), [D, D] row-major.
    /// Needs D ≤ `GaussNewton.dimensionLimit`.
    public func gaussNewton(data: EvalData) throws -> [Float] {
        try GaussNewton.matrix(try backwardPass(data: data))
    }
}
