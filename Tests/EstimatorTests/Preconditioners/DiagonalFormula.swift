import Testing
import Glibc
@testable import Estimator

/// The diagonal preconditioners' formula written out independently of `Preconditioner`:
/// q_i = 1/(|x_i|^exponent + eps), then p = q / exp(mean log q) so that Σ log p = 0.
enum DiagonalFormula {
    static func expected(_ x: [Double], eps: Double, exponent: Double) -> [Double] {
        let q = x.map { 1 / (pow(abs($0), exponent) + eps) }
        let meanLog = q.reduce(0) { $0 + log($1) } / Double(q.count)
        return q.map { $0 / exp(meanLog) }
    }

    /// The entries of a diagonal preconditioner.
    static func entries(_ p: Preconditioner) throws -> [Float] {
        guard case .diagonal(let entries) = p.form else {
            Issue.record("\(p.spec) is not diagonal")
            throw EstimatorError(code: "test", "not diagonal")
        }
        return entries
    }

    /// Each entry within float32 rounding (and a little float64 slack) of its expected value.
    static func expectMatches(_ p: Preconditioner, _ expected: [Double], _ what: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let entries = try entries(p)
        try #require(entries.count == expected.count, sourceLocation: sourceLocation)
        var worst = 0.0, worstIndex = 0
        for (i, (a, b)) in zip(entries, expected).enumerated() {
            let relative = abs(Double(a) / b - 1)
            if !(relative <= worst) { (worst, worstIndex) = (relative, i) }
        }
        #expect(worst <= 2e-7, "\(what): entry \(worstIndex) is \(entries[worstIndex]), expected \(expected[worstIndex]) (relative \(worst))",
                sourceLocation: sourceLocation)
    }

    /// Unit determinant: Σ log p_i = 0 up to the float32 rounding of each entry (≤ 2⁻²⁴ relative).
    static func expectUnitDeterminant(_ p: Preconditioner, _ what: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let entries = try entries(p)
        let sumLog = entries.reduce(0.0) { $0 + log(Double($1)) }
        #expect(abs(sumLog) <= Double(entries.count) * 0x1p-24, "\(what): Σ log p = \(sumLog)", sourceLocation: sourceLocation)
    }
}

/// Adam's moments of a digits checkpoint read from `optimizer.pt`'s pickle directly, without
/// `OptimizerState`: digits has one param group whose indices follow `named_parameters()`
/// (0.weight, 0.bias, 2.weight, 2.bias), so state index i is the model's i-th parameter.
enum RawAdamState {
    static let digitsShapes = [[64, 64], [64], [10, 64], [10]]

    static func digits(_ checkpoint: String) throws -> (expAvg: [Double], expAvgSq: [Double]) {
        let value = try TorchArchive.load(path: Fixtures.path(checkpoint + "/optimizer.pt"))
        let groups = try #require(value["param_groups"]?.items)
        try #require(groups.count == 1)
        let params = try #require(groups[0]["params"]?.items).map { try #require($0.intValue) }
        let state = try #require(value["state"]?.dictEntries)
        var expAvg: [Double] = [], expAvgSq: [Double] = []
        for (index, shape) in zip(params, digitsShapes) {
            let entry = try #require(state.first { $0.key.intValue == index }?.value)
            let m = try #require(entry["exp_avg"]?.tensorValue), v = try #require(entry["exp_avg_sq"]?.tensorValue)
            try #require(m.shape == shape && v.shape == shape)
            expAvg += m.floats().map(Double.init)
            expAvgSq += v.floats().map(Double.init)
        }
        return (expAvg, expAvgSq)
    }
}
