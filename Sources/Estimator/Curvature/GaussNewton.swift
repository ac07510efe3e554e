/// The full Gauss-Newton matrix of the KL cost at the anchor (there equal to its Hessian and to
/// the Fisher): H = (1/N)·Σ_n Σ_c r_{n,c}·r_{n,c}ᵀ with r_{n,c} = J_nᵀ g_{n,c},
/// g_{n,c} = √p_c·(e_c − p). Built from blocks of those rows with one rank-k update (`?syrk`)
/// per block, so memory is the D×D matrix plus one block.
public enum GaussNewton {
    /// The largest D for which the full matrix is built: D² floats (1.6 GB at the limit) plus
    /// twice that for the eigendecomposition's workspace.
    public static let dimensionLimit = 20_000

    /// Scalars per block of Jacobian rows (32 MB in float32).
    static let blockScalars = 8 << 20

    /// H, [D, D] row-major and symmetric. `examplesPerBlock` overrides the block size (tests).
    public static func matrix<P: BackwardPass>(_ pass: P, examplesPerBlock: Int? = nil) throws(EstimatorError) -> [P.Scalar] {
        let d = pass.dimension
        guard d <= dimensionLimit else {
            throw EstimatorError(code: "curvature.too_large",
                                 "the full Gauss-Newton matrix is built only for D ≤ \(dimensionLimit); this model has D = \(d)")
        }
        let anchor = pass.anchor
        let classes = anchor.classes
        let counted = FisherDiagonal.countedMask(anchor)
        let examplesPerBlock = max(1, examplesPerBlock ?? blockScalars / (classes * max(1, d)))
        var h = [P.Scalar](repeating: 0, count: d * d)
        var jacobianRows = [P.Scalar](repeating: 0, count: min(pass.examples, examplesPerBlock) * classes * d)
        var cotangents: [P.Scalar] = []
        let alpha = 1 / P.Scalar(anchor.positions)

        for start in stride(from: 0, to: pass.examples, by: examplesPerBlock) {
            let block = start..<min(pass.examples, start + examplesPerBlock)
            // Rows for class c go to [c·count, (c+1)·count).
            jacobianRows.withUnsafeMutableBufferPointer { rows in
                for c in 0..<classes {
                    FisherDiagonal.classCotangents(c, rows: block, anchor: anchor, counted: counted, into: &cotangents)
                    pass.jacobianRows(examples: block, cotangents: cotangents,
                                      into: rows.baseAddress! + c * block.count * d)
                }
                h.withUnsafeMutableBufferPointer { h in
                    P.Scalar.syrkTransposed(n: d, k: block.count * classes, alpha: alpha, a: rows.baseAddress!, lda: d,
                                            beta: 1, c: h.baseAddress!, ldc: d)
                }
            }
        }
        // ?syrk fills the upper triangle; mirror it so H is a plain symmetric matrix.
        h.withUnsafeMutableBufferPointer { h in
            for i in 0..<d {
                for j in 0..<i { h[i * d + j] = h[j * d + i] }
            }
        }
        return h
    }
}
