import COpenBLAS

/// Thin wrappers over the OpenBLAS routines the models use. Matrices are row-major.
public enum BLAS {
    /// Direction workers each run single-threaded BLAS (docs/estimator.md, "Threads and
    /// determinism"), so the library's own thread pool is switched off, once per process,
    /// before the first call.
    @usableFromInline
    static let singleThreaded: Void = openblas_set_num_threads(1)

    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, with op(X) = Xᵀ when `transX`.
    /// Leading dimensions are those of the stored (untransposed) row-major arrays.
    @inlinable
    public static func gemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = singleThreaded
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans,
            transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k),
            alpha, a, blasint(lda), b, blasint(ldb),
            beta, c, blasint(ldc))
    }

    /// y = op(A)·x with A [m×n] row-major.
    @inlinable
    public static func gemv(trans: Bool, m: Int, n: Int, a: UnsafePointer<Float>, lda: Int,
                            x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        _ = singleThreaded
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasint(m), blasint(n),
                    1, a, blasint(lda), x, 1, 0, y, 1)
    }
}
