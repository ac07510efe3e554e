import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// A floating-point type the backward passes and the curvature code run in: `Float` in
/// production (sgemm, ssyrk, ssyevd), `Double` where tests need float64 (dgemm, dsyrk, dsyevd).
/// Matrices are row-major, as in `BLAS`.
public protocol BLASScalar: BinaryFloatingPoint, Sendable {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C.
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// The upper triangle of C[n×n] = alpha · AᵀA + beta · C, with A [k×n].
    static func syrkTransposed(n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                               beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// LAPACK `?syevd` (column-major, Fortran calling convention); `lwork`/`liwork` = −1 is a
    /// workspace query.
    static func syevd(jobz: UInt8, uplo: UInt8, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
                      w: UnsafeMutablePointer<Self>, work: UnsafeMutablePointer<Self>, lwork: Int32,
                      iwork: UnsafeMutablePointer<Int32>, liwork: Int32) -> Int32

    static func exp(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
}

extension Float: BLASScalar {
    @inlinable
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        BLAS.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    public static func syrkTransposed(n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = BLAS.singleThreaded
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, blasint(n), blasint(k), alpha, a, blasint(lda),
                    beta, c, blasint(ldc))
    }

    public static func syevd(jobz: UInt8, uplo: UInt8, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
                             w: UnsafeMutablePointer<Float>, work: UnsafeMutablePointer<Float>, lwork: Int32,
                             iwork: UnsafeMutablePointer<Int32>, liwork: Int32) -> Int32 {
        _ = BLAS.singleThreaded
        var info: Int32 = 0
        var (jobz, uplo, n, lda, lwork, liwork) = (CChar(bitPattern: jobz), CChar(bitPattern: uplo), n, lda, lwork, liwork)
        ssyevd_(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info)
        return info
    }

    @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
    @inlinable public static func erf(_ x: Float) -> Float { erff(x) }
    @inlinable public static func tanh(_ x: Float) -> Float { tanhf(x) }
}

extension Double: BLASScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        _ = BLAS.singleThreaded
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    public static func syrkTransposed(n: Int, k: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
                                      beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        _ = BLAS.singleThreaded
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, blasint(n), blasint(k), alpha, a, blasint(lda),
                    beta, c, blasint(ldc))
    }

    public static func syevd(jobz: UInt8, uplo: UInt8, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
                             w: UnsafeMutablePointer<Double>, work: UnsafeMutablePointer<Double>, lwork: Int32,
                             iwork: UnsafeMutablePointer<Int32>, liwork: Int32) -> Int32 {
        _ = BLAS.singleThreaded
        var info: Int32 = 0
        var (jobz, uplo, n, lda, lwork, liwork) = (CChar(bitPattern: jobz), CChar(bitPattern: uplo), n, lda, lwork, liwork)
        dsyevd_(&jobz, &uplo, &n, a, &lda, w, work, &lwork, iwork, &liwork, &info)
        return info
    }

    @inlinable public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inlinable public static func erf(_ x: Double) -> Double { Glibc.erf(x) }
    @inlinable public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
}
