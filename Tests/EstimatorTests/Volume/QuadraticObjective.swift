import Glibc
@testable import Estimator

/// C(θ0 + t·v̂) = ½ t² Σ h_i v̂_i²: the cost of a quadratic basin with diagonal Hessian h,
/// evaluated in float64 so the analytic checks see only the estimator's own error.
struct QuadraticObjective: KLObjective {
    let hessian: [Double]
    var dimension: Int { hessian.count }
    var positions: Int { 1 }
    func makeEvaluator() -> any RayEvaluator { Evaluator(hessian: hessian) }

    final class Evaluator: RayEvaluator {
        let hessian: [Double]
        var curvature = 0.0
        init(hessian: [Double]) { self.hessian = hessian }
        func setDirection(_ ray: RayDirection) {
            let direction = ray.materialized()
            curvature = 0
            for i in 0..<hessian.count { curvature += hessian[i] * Double(direction[i]) * Double(direction[i]) }
        }
        func cost(at t: Double) -> Double { 0.5 * curvature * t * t }
    }
}

/// log P(a, x), the regularized lower incomplete gamma function, in float64 (series below
/// a + 1, Lentz continued fraction for Q above): the central χ² CDF is P(D/2, x/2).
func logRegularizedLowerGamma(_ a: Double, _ x: Double) -> Double {
    var sign: Int32 = 0
    let logPrefix = a * log(x) - x - lgamma_r(a, &sign)
    if x < a + 1 {
        var term = 1 / a, sum = term, n = a
        for _ in 0..<100_000 {
            n += 1
            term *= x / n
            sum += term
            if term < sum * 1e-17 { break }
        }
        return logPrefix + log(sum)
    }
    var b = x + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d
    for i in 1..<100_000 {
        let an = -Double(i) * (Double(i) - a)
        b += 2
        d = an * d + b
        if abs(d) < 1e-300 { d = 1e-300 }
        c = b + an / c
        if abs(c) < 1e-300 { c = 1e-300 }
        d = 1 / d
        let delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16 { break }
    }
    let logQ = logPrefix + log(h)
    return log1p(-exp(logQ))
}

/// C(θ0 + t·v̂) = ½ t² v̂ᵀHv̂ with a dense symmetric H ([D, D] row-major), in float64.
struct DenseQuadraticObjective: KLObjective {
    let hessian: [Double]
    let dimension: Int
    var positions: Int { 1 }
    func makeEvaluator() -> any RayEvaluator { Evaluator(hessian: hessian, dimension: dimension) }

    final class Evaluator: RayEvaluator {
        let hessian: [Double]
        let dimension: Int
        var curvature = 0.0
        init(hessian: [Double], dimension: Int) {
            self.hessian = hessian
            self.dimension = dimension
        }
        func setDirection(_ ray: RayDirection) {
            let direction = ray.materialized()
            curvature = 0
            for i in 0..<dimension {
                var row = 0.0
                for j in 0..<dimension { row += hessian[i * dimension + j] * Double(direction[j]) }
                curvature += Double(direction[i]) * row
            }
        }
        func cost(at t: Double) -> Double { 0.5 * curvature * t * t }
    }
}

extension RayDirection {
    /// All of v̂ in a new array.
    func materialized() -> [Float] {
        var v = [Float](repeating: 0, count: dimension)
        v.withUnsafeMutableBufferPointer { materialize(into: $0) }
        return v
    }
}
