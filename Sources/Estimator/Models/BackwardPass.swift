/// Reverse mode at the anchor θ0 on fixed evaluation data, written against the model's own
/// forward pass (no autodiff framework). It pulls vectors in output space back to parameter
/// space: one cotangent g per output position (a row of the [rows, classes] logits), mapped to
/// J_eᵀ g_e = Σ_{positions of e} (∂logits/∂θ)ᵀ g. The curvature preconditioners are built from
/// these pullbacks (`FisherDiagonal`, `GaussNewton`).
///
/// An *example* is the unit whose pullback is squared on its own: one row for an MLP, one
/// sequence for a language model (its positions share one backward pass).
public protocol BackwardPass<Scalar> {
    associatedtype Scalar: BLASScalar

    /// D, the length of the flat parameter vector.
    var dimension: Int { get }
    var examples: Int { get }
    /// p_θ0 at every output row, and which rows the KL counts.
    var anchor: AnchorDistribution { get }

    /// The output rows of a run of consecutive examples (a contiguous range of logit rows).
    func rows(ofExamples examples: Range<Int>) -> Range<Int>

    /// Pulls back `cotangents` ([rows(ofExamples: examples).count, classes], row-major) and adds
    /// Σ_e J_eᵀ g_e to `sum` and the per-example squares Σ_e (J_eᵀ g_e)∘(J_eᵀ g_e) to `squares`
    /// (each D long; either may be nil).
    func pullback(examples: Range<Int>, cotangents: UnsafePointer<Scalar>,
                  sum: UnsafeMutablePointer<Scalar>?, squares: UnsafeMutablePointer<Scalar>?)

    /// Writes J_eᵀ g_e of each example as one row of `rows` ([examples.count, dimension]).
    func jacobianRows(examples: Range<Int>, cotangents: UnsafePointer<Scalar>, into rows: UnsafeMutablePointer<Scalar>)
}

/// A model with reverse mode at its anchor: what the `fisher` and `hessian` preconditioners
/// need. Architectures without a backward pass skip those two preconditioners with a reason.
public protocol CurvatureModel: Model {
    /// The anchor's forward pass on `data` in float32, kept for backward passes.
    func backwardPass(data: EvalData) throws(ModelError) -> any BackwardPass<Float>
}

extension CurvatureModel {
    /// The diagonal of the KL's Hessian at the anchor (the Fisher / GGN diagonal): exact when
    /// every example is one output position, else Monte-Carlo with `samples` label draws.
    public func fisherDiagonal(data: EvalData, samples: Int = 1) throws(ModelError) -> FisherDiagonal {
        let pass = try backwardPass(data: data)
        return FisherDiagonal(pass, method: FisherDiagonal.Method.natural(for: pass, samples: samples))
    }

    /// The full Gauss-Newton matrix (= the KL's Hessian at the anchor), [D, D] row-major.
    /// Needs D ≤ `GaussNewton.dimensionLimit` and one output position per example.
    public func gaussNewton(data: EvalData) throws -> [Float] {
        try GaussNewton.matrix(try backwardPass(data: data))
    }
}
