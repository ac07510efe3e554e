#if canImport(Glibc)
import Glibc
#endif

/// A resolved preconditioner P with unit determinant (docs/estimator.md, "Preconditioners"):
/// directions are v = P·u.
public struct Preconditioner: Sendable {
    enum Form: Sendable {
        case identity
        /// Positive diagonal p, normalized so that mean(log p) = 0.
        case diagonal([Float])
        /// P = V·diag(s)·Vᵀ; V is [D, D] row-major with eigenvectors in columns; mean(log s) = 0.
        case eigen(vectors: [Float], scales: [Float])
    }

    public let spec: PreconditionerSpec
    let form: Form
    /// Wall time spent computing the curvature or moments this preconditioner is built from.
    public var secondsToBuild: Double = 0
    /// Monte-Carlo curvature only: the relative standard error of the entries P is built from
    /// (`FisherDiagonal.relativeStandardError`); nil where they are exact.
    public var relativeStandardError: Double?

    public static let identity = Preconditioner(spec: try! PreconditionerSpec(kind: .none), form: .identity)

    init(spec: PreconditionerSpec, form: Form) {
        self.spec = spec
        self.form = form
    }

    /// p_i = 1/(x_i^exponent + eps) for the `adam` (x = ν) and `adam-m` (x = |m|) kinds,
    /// normalized to unit determinant.
    public static func moments(_ spec: PreconditionerSpec, _ moments: AdamMoments) throws(EstimatorError) -> Preconditioner {
        try moment(spec, spec.kind == .adamM ? moments.expAvg : moments.expAvgSq)
    }

    /// The same from the one moment the kind reads (`AdamMoment`), turned into P in place: no
    /// D-length vector besides `moment` itself. Two passes compute each p_i in float64 (the
    /// first for the normalization), so the entries are those of `diagonal`.
    public static func moment(_ spec: PreconditionerSpec, _ moment: consuming [Float]) throws(EstimatorError) -> Preconditioner {
        guard spec.kind == .adam || spec.kind == .adamM else { preconditionFailure("\(spec.name) is not built from Adam moments") }
        let exponent = spec.value("exponent"), eps = spec.value("eps")
        let what = spec.kind == .adam ? "exp_avg_sq" : "exp_avg"
        let entry = { (x: Float) -> Double in 1 / (pow(Double(abs(x)), exponent) + eps) }
        var values = moment
        var sumLog = 0.0
        for (i, x) in values.enumerated() {
            let v = entry(x)
            guard v.isFinite, v > 0 else { throw degenerate(spec, i, v, what) }
            sumLog += log(v)
        }
        let scale = exp(-sumLog / Double(values.count))
        var normal = true
        values.withUnsafeMutableBufferPointer { x in
            for i in x.indices {
                x[i] = Float(entry(x[i]) * scale)
                normal = normal && x[i].isNormal
            }
        }
        guard normal else { throw outOfRange(spec) }
        return Preconditioner(spec: spec, form: .diagonal(values))
    }

    private static func degenerate(_ spec: PreconditionerSpec, _ i: Int, _ v: Double, _ what: String) -> EstimatorError {
        EstimatorError(code: "preconditioner.degenerate",
                       "\(spec): entry \(i) is \(v) (\(what) is not finite, or eps = 0 with a zero entry)")
    }

    private static func outOfRange(_ spec: PreconditionerSpec) -> EstimatorError {
        EstimatorError(code: "preconditioner.range", "\(spec): entries span more than float32 can hold after normalization")
    }

    /// A diagonal preconditioner from positive entries, normalized so that mean(log p) = 0.
    static func diagonal(_ spec: PreconditionerSpec, _ p: [Double], what: String) throws(EstimatorError) -> Preconditioner {
        var sumLog = 0.0
        for (i, v) in p.enumerated() {
            guard v.isFinite, v > 0 else { throw degenerate(spec, i, v, what) }
            sumLog += log(v)
        }
        let scale = exp(-sumLog / Double(p.count))
        let normalized = p.map { Float($0 * scale) }
        guard normalized.allSatisfy({ $0.isNormal }) else { throw outOfRange(spec) }
        return Preconditioner(spec: spec, form: .diagonal(normalized))
    }

    /// True for P = V·diag(s)·Vᵀ, which is applied to all of an estimate's directions at once
    /// (`applyRows`); the others are applied one direction at a time, in place.
    var isDense: Bool {
        if case .eigen = form { return true }
        return false
    }

    /// P's diagonal; nil for the identity (and the dense form).
    var diagonal: [Float]? {
        if case .diagonal(let p) = form { return p }
        return nil
    }

    /// u ← P·u for the identity and diagonal forms.
    func apply(inPlace u: UnsafeMutableBufferPointer<Float>) {
        switch form {
        case .identity:
            break
        case .diagonal(let p):
            p.withUnsafeBufferPointer { p in
                for i in 0..<u.count { u[i] *= p[i] }
            }
        case .eigen:
            preconditionFailure("the dense form is applied to blocks of directions (applyRows)")
        }
    }

    /// Each of `count` rows of `rows` ([count, D] row-major) ← P·row, for the dense form:
    /// W = U·V, W ∘= s per column, U = W·Vᵀ. Two GEMMs read V once per block of directions
    /// where two GEMVs per direction would read it twice per direction, and V (D² floats) does
    /// not fit in cache. `scratch` holds count·D floats.
    func applyRows(_ rows: UnsafeMutablePointer<Float>, count: Int, dimension d: Int,
                   scratch: UnsafeMutablePointer<Float>) {
        guard case .eigen(let vectors, let scales) = form else {
            preconditionFailure("applyRows is for the dense form")
        }
        vectors.withUnsafeBufferPointer { m in
            BLAS.gemm(m: count, n: d, k: d, a: rows, lda: d, b: m.baseAddress!, ldb: d, c: scratch, ldc: d)
            scales.withUnsafeBufferPointer { s in
                for r in 0..<count {
                    let w = scratch + r * d
                    for j in 0..<d { w[j] *= s[j] }
                }
            }
            BLAS.gemm(transB: true, m: count, n: d, k: d, a: scratch, lda: d, b: m.baseAddress!, ldb: d, c: rows, ldc: d)
        }
    }
}
