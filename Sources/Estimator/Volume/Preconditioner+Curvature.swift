#if canImport(Glibc)
import Glibc
#endif

/// The curvature preconditioners (paper §3.2, eqs. 17–18), from the KL's Hessian at the anchor.
extension Preconditioner {
    /// `fisher`: p_i = 1/(diag_i^½ + eps), normalized to unit determinant.
    public static func fisher(_ spec: PreconditionerSpec, _ curvature: FisherDiagonal) throws(EstimatorError) -> Preconditioner {
        try fisher(spec, diagonal: curvature.values)
    }

    /// `fisher` from the diagonal's entries (all of them, or a subset's: normalized over those).
    static func fisher(_ spec: PreconditionerSpec, diagonal values: [Double]) throws(EstimatorError) -> Preconditioner {
        precondition(spec.kind == .fisher)
        let eps = spec.value("eps")
        // Entries are sums of squares; |·| only guards the square root.
        return try diagonal(spec, values.map { 1 / (abs($0).squareRoot() + eps) }, what: "the Fisher diagonal")
    }

    /// `hessian`: P = V·diag(s)·Vᵀ with s_i = 1/(|λ_i|^½ + eps) from the Gauss-Newton matrix's
    /// eigendecomposition, normalized so that mean(log s) = 0. Directions are rotated into the
    /// eigenbasis, scaled and rotated back (v = V(s∘(Vᵀu))). With eps = 0 a singular matrix
    /// (an eigenvalue that is zero to the decomposition's precision) is an error.
    public static func hessian(_ spec: PreconditionerSpec, _ eigen: SymmetricEigen<Float>) throws(EstimatorError) -> Preconditioner {
        precondition(spec.kind == .hessian)
        let eps = spec.value("eps")
        let d = eigen.dimension
        guard eigen.values.allSatisfy({ $0.isFinite }) else {
            throw EstimatorError(code: "preconditioner.degenerate", "\(spec): the Gauss-Newton matrix has non-finite eigenvalues")
        }
        let largest = eigen.values.map { Double(abs($0)) }.max() ?? 0
        if eps == 0 {
            // Below this an eigenvalue is rounding noise of the float32 decomposition.
            let noise = largest * Double(d) * Double(Float.ulpOfOne)
            let singular = eigen.values.filter { Double(abs($0)) <= noise }.count
            guard singular == 0 else {
                throw EstimatorError(code: "preconditioner.degenerate",
                                          "\(spec): the Gauss-Newton matrix is singular (\(singular) of \(d) eigenvalues are zero to float32 precision); use eps > 0")
            }
        }
        var scales = eigen.values.map { 1 / (Double(abs($0)).squareRoot() + eps) }
        let meanLog = scales.reduce(0) { $0 + log($1) } / Double(max(1, d))
        let normalize = exp(-meanLog)
        for i in scales.indices { scales[i] *= normalize }
        let floats = scales.map { Float($0) }
        guard floats.allSatisfy({ $0.isNormal }) else {
            throw EstimatorError(code: "preconditioner.range",
                                      "\(spec): scales span more than float32 can hold after normalization")
        }
        return Preconditioner(spec: spec, form: .eigen(vectors: eigen.vectors, scales: floats))
    }
}
