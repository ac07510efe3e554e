#if canImport(Glibc)
import Glibc
#endif

/// A resolved preconditioner P with unit determinant (DESIGN step 2): directions are v = P·u.
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
        let exponent = spec.value("exponent"), eps = spec.value("eps")
        let source: [Float]
        switch spec.kind {
        case .adam: source = moments.expAvgSq
        case .adamM: source = moments.expAvg
        default: preconditionFailure("\(spec.name) is not built from Adam moments")
        }
        let p = source.map { x -> Double in 1 / (pow(Double(abs(x)), exponent) + eps) }
        return try diagonal(spec, p, what: spec.kind == .adam ? "exp_avg_sq" : "exp_avg")
    }

    /// A diagonal preconditioner from positive entries, normalized so that mean(log p) = 0.
    static func diagonal(_ spec: PreconditionerSpec, _ p: [Double], what: String) throws(EstimatorError) -> Preconditioner {
        var sumLog = 0.0
        for (i, v) in p.enumerated() {
            guard v.isFinite, v > 0 else {
                throw EstimatorError(code: "preconditioner.degenerate",
                                          "\(spec): entry \(i) is \(v) (\(what) is not finite, or eps = 0 with a zero entry)")
            }
            sumLog += log(v)
        }
        let scale = exp(-sumLog / Double(p.count))
        let normalized = p.map { Float($0 * scale) }
        guard normalized.allSatisfy({ $0.isNormal }) else {
            throw EstimatorError(code: "preconditioner.range",
                                      "\(spec): entries span more than float32 can hold after normalization")
        }
        return Preconditioner(spec: spec, form: .diagonal(normalized))
    }

    /// v = P·u. `scratch` (D floats) is used by the dense form only.
    func apply(_ u: UnsafeBufferPointer<Float>, into v: UnsafeMutableBufferPointer<Float>,
               scratch: UnsafeMutableBufferPointer<Float>) {
        switch form {
        case .identity:
            if UnsafePointer(v.baseAddress) != u.baseAddress { _ = v.initialize(from: u) }
        case .diagonal(let p):
            p.withUnsafeBufferPointer { p in
                for i in 0..<u.count { v[i] = p[i] * u[i] }
            }
        case .eigen(let vectors, let scales):
            let d = u.count
            vectors.withUnsafeBufferPointer { m in
                // w = Vᵀu, w ∘= s, v = V·w
                BLAS.gemv(trans: true, m: d, n: d, a: m.baseAddress!, lda: d, x: u.baseAddress!, y: scratch.baseAddress!)
                for i in 0..<d { scratch[i] *= scales[i] }
                BLAS.gemv(trans: false, m: d, n: d, a: m.baseAddress!, lda: d, x: scratch.baseAddress!, y: v.baseAddress!)
            }
        }
    }

    /// True when `apply` may write into the buffer it reads (no separate output needed).
    var worksInPlace: Bool {
        if case .eigen = form { return false }
        return true
    }
}
