#if canImport(Glibc)
import Glibc
#endif

extension Preconditioner {
    /// `adam` from an `exp_avg_sq` vector ν in parameter order (one the caller made, such as the
    /// scale benchmark's random one for a synthetic checkpoint): p_i = 1/(ν_i^exponent + eps),
    /// normalized to unit determinant, as `moments` builds it. The vector is turned into p in
    /// place, so that a large model holds one D-length vector, not three.
    public static func adam(_ spec: PreconditionerSpec, secondMoment: consuming [Float]) throws(EstimatorError) -> Preconditioner {
        precondition(spec.kind == .adam, "\(spec.name) is not adam")
        let exponent = spec.value("exponent"), eps = spec.value("eps")
        var p = secondMoment
        var sumLog = 0.0
        for i in p.indices {
            let v = 1 / (pow(Double(abs(p[i])), exponent) + eps)
            guard v.isFinite, v > 0 else {
                throw EstimatorError(code: "preconditioner.degenerate",
                                     "\(spec): entry \(i) is \(v) (exp_avg_sq is not finite, or eps = 0 with a zero entry)")
            }
            sumLog += log(v)
            p[i] = Float(v)
        }
        let scale = exp(-sumLog / Double(p.count))
        for i in p.indices {
            let normalized = Float(Double(p[i]) * scale)
            guard normalized.isNormal else {
                throw EstimatorError(code: "preconditioner.range", "\(spec): entries span more than float32 can hold after normalization")
            }
            p[i] = normalized
        }
        return Preconditioner(spec: spec, form: .diagonal(p))
    }
}
