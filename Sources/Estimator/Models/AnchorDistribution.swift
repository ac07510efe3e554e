#if canImport(Glibc)
import Glibc
#endif

/// The anchor network's predictive distribution over `classes` at each evaluation position,
/// in float64, and the KL of another network's logits from it.
public struct AnchorDistribution: Sendable {
    public let rows: Int
    public let classes: Int
    /// log p_θ0, row-major [rows, classes].
    public let logProbs: [Double]
    let probs: [Double]
    /// Rows that count (unmasked positions); all rows when nil.
    let included: [Int]?

    /// `logits` are the anchor's outputs, [rows, classes]. Fails if any counted row is not finite.
    public init(logits: UnsafeBufferPointer<Float>, rows: Int, classes: Int, included: [Int]? = nil) throws(ModelError) {
        precondition(logits.count == rows * classes)
        self.rows = rows
        self.classes = classes
        self.included = included
        var logProbs = [Double](repeating: 0, count: rows * classes)
        var probs = [Double](repeating: 0, count: rows * classes)
        for row in included ?? Array(0..<rows) {
            let base = logits.baseAddress! + row * classes
            let lse = AnchorDistribution.logSumExp(base, classes)
            guard lse.isFinite else {
                throw ModelError(code: "model.nonfinite_anchor",
                                 "the anchor's outputs are not finite at evaluation position \(row) (NaN or infinite weights?)")
            }
            for c in 0..<classes {
                let lp = Double(base[c]) - lse
                logProbs[row * classes + c] = lp
                probs[row * classes + c] = exp(lp)
            }
        }
        self.logProbs = logProbs
        self.probs = probs
    }

    public var positions: Int { included?.count ?? rows }

    /// Mean over counted rows of KL(p_θ0 ‖ softmax(logits)); NaN/∞ if the logits are not finite.
    /// Written term by term against the stored log p_θ0 so that the anchor's own logits give
    /// exactly 0.
    public func meanKL(logits: UnsafePointer<Float>) -> Double {
        var total = 0.0
        if let included {
            for row in included { total += rowKL(row, logits + row * classes) }
        } else {
            for row in 0..<rows { total += rowKL(row, logits + row * classes) }
        }
        return total / Double(positions)
    }

    @inline(__always)
    private func rowKL(_ row: Int, _ q: UnsafePointer<Float>) -> Double {
        let lse = AnchorDistribution.logSumExp(q, classes)
        var kl = 0.0
        logProbs.withUnsafeBufferPointer { lp in
            probs.withUnsafeBufferPointer { p in
                let base = row * classes
                for c in 0..<classes {
                    kl += p[base + c] * (lp[base + c] - (Double(q[c]) - lse))
                }
            }
        }
        return kl
    }

    /// log Σ exp(x), float64, stable; NaN when an input is NaN, +∞ when one is +∞.
    @inline(__always)
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var m = -Float.infinity
        for i in 0..<n {
            let v = x[i]
            if v > m { m = v } else if v.isNaN { return .nan }
        }
        if !m.isFinite { return Double(m) }
        let mm = Double(m)
        var s = 0.0
        for i in 0..<n { s += exp(Double(x[i]) - mm) }
        return mm + log(s)
    }
}
