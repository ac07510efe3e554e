#if canImport(Glibc)
import Glibc
#endif

/// The anchor network's predictive distribution in float64 at every example, for the
/// curvature preconditioners (`FisherDiagonal`, `GaussNewton`): their per-class cotangents
/// √p_c(e_c − p) and sampled labels need p itself, in the precision of the finite-difference
/// checks. The estimator's KL uses the compact `AnchorDistribution` instead.
public struct AnchorProbabilities: Sendable {
    public let rows: Int
    public let classes: Int
    /// p_θ0, row-major [rows, classes] (zero in rows the KL does not count).
    public let probabilities: [Double]
    /// Rows that count (unmasked positions); all rows when nil.
    let included: [Int]?

    /// `logits` are the anchor's outputs, [rows, classes]. Fails if any counted row is not finite.
    public init(logits: UnsafeBufferPointer<Double>, rows: Int, classes: Int, included: [Int]? = nil) throws(EstimatorError) {
        precondition(logits.count == rows * classes)
        self.rows = rows
        self.classes = classes
        self.included = included
        var probabilities = [Double](repeating: 0, count: rows * classes)
        for row in included ?? Array(0..<rows) {
            let base = row * classes
            var m = -Double.infinity
            for c in 0..<classes { m = max(m, logits[base + c]) }
            var s = 0.0
            for c in 0..<classes { s += exp(logits[base + c] - m) }
            let lse = m + log(s)
            guard lse.isFinite else { throw AnchorDistribution.nonFinite(row: row) }
            for c in 0..<classes { probabilities[base + c] = exp(logits[base + c] - lse) }
        }
        self.probabilities = probabilities
    }

    public var positions: Int { included?.count ?? rows }

    /// The rows the KL counts, ascending.
    public var countedRows: [Int] { included ?? Array(0..<rows) }
}
