/// The eigendecomposition A = V·diag(λ)·Vᵀ of a real symmetric matrix, by LAPACK's divide and
/// conquer driver (`ssyevd` / `dsyevd` from OpenBLAS).
public struct SymmetricEigen<Scalar: BLASScalar>: Sendable {
    public let dimension: Int
    /// λ in ascending order.
    public let values: [Scalar]
    /// V, [n, n] row-major with eigenvector j in column j (orthonormal).
    public let vectors: [Scalar]

    /// Decomposes `matrix` ([n, n] row-major). Only its upper triangle is read.
    /// Memory: the matrix plus LAPACK's workspace of about 2n² scalars.
    public init(symmetric matrix: consuming [Scalar], dimension n: Int) throws(EstimatorError) {
        precondition(matrix.count == n * n)
        guard n > 0 else {
            dimension = 0
            values = []
            vectors = []
            return
        }
        guard n <= Int(Int32.max), 1 + 6 * n + 2 * n * n <= Int(Int32.max) else {
            throw EstimatorError(code: "linalg.too_large", "a \(n)×\(n) eigendecomposition exceeds LAPACK's 32-bit workspace sizes")
        }
        // LAPACK is column-major: the row-major upper triangle is its lower triangle, and the
        // eigenvectors it returns in columns are rows here.
        var a = consume matrix
        var w = [Scalar](repeating: 0, count: n)
        let jobz = UInt8(ascii: "V"), uplo = UInt8(ascii: "L")
        var workSize = [Scalar](repeating: 0, count: 1)
        var iworkSize = [Int32](repeating: 0, count: 1)
        let query = a.withUnsafeMutableBufferPointer { a in
            Scalar.syevd(jobz: jobz, uplo: uplo, n: Int32(n), a: a.baseAddress!, lda: Int32(n), w: &w,
                         work: &workSize, lwork: -1, iwork: &iworkSize, liwork: -1)
        }
        guard query == 0 else {
            throw EstimatorError(code: "linalg.eigen", "?syevd workspace query failed (info \(query))")
        }
        // The optimal sizes, never below LAPACK's documented minimum (the float answer may round down).
        let lwork = max(Int(workSize[0].rounded(.up)), 1 + 6 * n + 2 * n * n)
        let liwork = max(Int(iworkSize[0]), 3 + 5 * n)
        var work = [Scalar](repeating: 0, count: lwork)
        var iwork = [Int32](repeating: 0, count: liwork)
        let info = a.withUnsafeMutableBufferPointer { a in
            Scalar.syevd(jobz: jobz, uplo: uplo, n: Int32(n), a: a.baseAddress!, lda: Int32(n), w: &w,
                         work: &work, lwork: Int32(min(lwork, Int(Int32.max))), iwork: &iwork, liwork: Int32(liwork))
        }
        guard info == 0 else {
            throw EstimatorError(code: "linalg.eigen", info > 0
                ? "?syevd did not converge (info \(info)); the matrix may hold NaN or infinite entries"
                : "?syevd rejected argument \(-info)")
        }
        SymmetricEigen.transposeInPlace(&a, n)
        dimension = n
        values = w
        vectors = a
    }

    private static func transposeInPlace(_ a: inout [Scalar], _ n: Int) {
        a.withUnsafeMutableBufferPointer { a in
            for i in 0..<n {
                for j in (i + 1)..<n { a.swapAt(i * n + j, j * n + i) }
            }
        }
    }
}
