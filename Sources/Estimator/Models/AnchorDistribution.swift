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
    public init(logits: UnsafeBufferPointer<Float>, rows: Int, classes: Int, included: [Int]? = nil) throws(EstimatorError) {
        precondition(logits.count == rows * classes)
        self.rows = rows
        self.classes = classes
        self.included = included
        let workspace = KLWorkspace(rows: rows, classes: classes)
        AnchorDistribution.rowLogSumExp(logits.baseAddress!, rows: rows, classes: classes, workspace)
        var logProbs = [Double](repeating: 0, count: rows * classes)
        var probs = [Double](repeating: 0, count: rows * classes)
        for row in included ?? Array(0..<rows) {
            let lse = workspace.logSumExp[row]
            guard lse.isFinite else {
                throw EstimatorError(code: "model.nonfinite_anchor",
                                 "the anchor's outputs are not finite at evaluation position \(row) (NaN or infinite weights?)")
            }
            for c in 0..<classes {
                let lp = Double(logits[row * classes + c]) - lse
                logProbs[row * classes + c] = lp
                probs[row * classes + c] = exp(lp)
            }
        }
        self.logProbs = logProbs
        self.probs = probs
    }

    /// The same from float64 logits, in plain float64 throughout (the finite-difference tests'
    /// precision; the curvature code's anchor probabilities).
    public init(logits: UnsafeBufferPointer<Double>, rows: Int, classes: Int, included: [Int]? = nil) throws(EstimatorError) {
        precondition(logits.count == rows * classes)
        self.rows = rows
        self.classes = classes
        self.included = included
        var logProbs = [Double](repeating: 0, count: rows * classes)
        var probs = [Double](repeating: 0, count: rows * classes)
        for row in included ?? Array(0..<rows) {
            let base = row * classes
            var m = -Double.infinity
            for c in 0..<classes { m = max(m, logits[base + c]) }
            var s = 0.0
            for c in 0..<classes { s += exp(logits[base + c] - m) }
            let lse = m + log(s)
            guard lse.isFinite else {
                throw EstimatorError(code: "model.nonfinite_anchor",
                                 "the anchor's outputs are not finite at evaluation position \(row) (NaN or infinite weights?)")
            }
            for c in 0..<classes {
                logProbs[base + c] = logits[base + c] - lse
                probs[base + c] = exp(logProbs[base + c])
            }
        }
        self.logProbs = logProbs
        self.probs = probs
    }

    public var positions: Int { included?.count ?? rows }

    /// p_θ0 at every row, row-major [rows, classes] (zero in rows the KL does not count).
    public var probabilities: [Double] { probs }

    /// The rows the KL counts, ascending.
    public var countedRows: [Int] { included ?? Array(0..<rows) }

    /// Mean over counted rows of KL(p_θ0 ‖ softmax(logits)); NaN/∞ if the logits are not finite.
    /// Written term by term against the stored log p_θ0, with the same log-sum-exp as the
    /// anchor's, so that the anchor's own logits give exactly 0.
    public func meanKL(logits: UnsafePointer<Float>, workspace: KLWorkspace) -> Double {
        AnchorDistribution.rowLogSumExp(logits, rows: rows, classes: classes, workspace)
        var total = 0.0
        logProbs.withUnsafeBufferPointer { lp in
            probs.withUnsafeBufferPointer { p in
                if let included {
                    for row in included { total += rowKL(row, logits, lp, p, workspace.logSumExp[row]) }
                } else {
                    for row in 0..<rows { total += rowKL(row, logits, lp, p, workspace.logSumExp[row]) }
                }
            }
        }
        return total / Double(positions)
    }

    @inline(__always)
    private func rowKL(_ row: Int, _ logits: UnsafePointer<Float>, _ lp: UnsafeBufferPointer<Double>,
                       _ p: UnsafeBufferPointer<Double>, _ lse: Double) -> Double {
        let base = row * classes
        // Four independent sums: one running sum is bound by the latency of each addition.
        var kl = SIMD4<Double>(repeating: 0)
        var c = 0
        while c + 4 <= classes {
            for k in 0..<4 {
                kl[k] += p[base + c + k] * (lp[base + c + k] - (Double(logits[base + c + k]) - lse))
            }
            c += 4
        }
        var total = kl.sum()
        while c < classes {
            total += p[base + c] * (lp[base + c] - (Double(logits[base + c]) - lse))
            c += 1
        }
        return total
    }

    /// workspace.logSumExp[r] = log Σ_c exp(logits[r, c]) in float64 for every row: NaN when a
    /// row holds NaN, ±∞ when its maximum is infinite. Each row is read twice: for its maximum,
    /// then for the vectorized exponentials, which are summed in float64; the logarithms of the
    /// sums are taken for all rows at once, vectorized.
    static func rowLogSumExp(_ logits: UnsafePointer<Float>, rows: Int, classes: Int, _ workspace: KLWorkspace) {
        if let matrix = workspace.matrix {
            smallRowLogSumExp(logits, rows: rows, classes: classes, workspace, matrix.baseAddress!)
        } else {
            wideRowLogSumExp(logits, rows: rows, classes: classes, workspace)
        }
        // All rows' logarithms at once, then the shift back by each row's maximum.
        FastLog.logInPlace(workspace.logSumExp.baseAddress!, count: rows)
        for r in 0..<rows { workspace.logSumExp[r] += Double(workspace.rowMax[r]) }
    }

    /// Few classes (an MLP's): every row shifted by its maximum into one matrix, whose
    /// exponentials then run vectorized end to end.
    private static func smallRowLogSumExp(_ logits: UnsafePointer<Float>, rows: Int, classes: Int,
                                          _ workspace: KLWorkspace, _ shifted: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let row = logits + r * classes
            var m = -Float.infinity
            var nan = false
            for c in 0..<classes {
                let v = row[c]
                if v > m { m = v } else if v.isNaN { nan = true }
            }
            workspace.rowMax[r] = nan ? .nan : m
            let shift = m.isFinite ? m : 0
            for c in 0..<classes { shifted[r * classes + c] = row[c] - shift }
        }
        FastExp.exp(shifted, into: shifted, count: rows * classes)
        for r in 0..<rows {
            var s = 0.0
            for c in 0..<classes { s += Double(shifted[r * classes + c]) }
            // A row with NaN or an infinite maximum: log 1 = 0, the maximum alone decides.
            workspace.logSumExp[r] = workspace.rowMax[r].isFinite ? s : 1
        }
    }

    /// Many classes (a vocabulary): each row's maximum, then its exponentials through a one-row
    /// buffer that stays in cache, summed in float64 with four partial sums (one running sum is
    /// bound by the latency of each addition).
    private static func wideRowLogSumExp(_ logits: UnsafePointer<Float>, rows: Int, classes: Int, _ workspace: KLWorkspace) {
        typealias Lanes = SIMD8<Float>
        for r in 0..<rows {
            let row = logits + r * classes
            var m = -Float.infinity
            var nan = false
            var c = 0
            var lanes = Lanes(repeating: -.infinity)
            var nanLanes = SIMDMask<SIMD8<Int32>>()
            while c + 8 <= classes {
                let v = UnsafeRawPointer(row + c).loadUnaligned(as: Lanes.self)
                nanLanes .|= v .!= v
                lanes.replace(with: v, where: v .> lanes)
                c += 8
            }
            nan = any(nanLanes)
            for k in 0..<8 where lanes[k] > m { m = lanes[k] }
            while c < classes {
                let v = row[c]
                if v > m { m = v } else if v.isNaN { nan = true }
                c += 1
            }
            workspace.rowMax[r] = nan ? .nan : m
            guard !nan, m.isFinite else {
                workspace.logSumExp[r] = 1  // log 1 = 0: the maximum alone decides
                continue
            }
            let shift = Lanes(repeating: m)
            let e = workspace.exponentials.baseAddress!
            c = 0
            while c + 8 <= classes {
                let v = UnsafeRawPointer(row + c).loadUnaligned(as: Lanes.self) - shift
                UnsafeMutableRawPointer(e + c).storeBytes(of: FastExp.exp8(v), as: Lanes.self)
                c += 8
            }
            if c < classes {
                var tail = Lanes(repeating: 0)
                for k in 0..<(classes - c) { tail[k] = row[c + k] }
                let exps = FastExp.exp8(tail - shift)
                for k in 0..<(classes - c) { e[c + k] = exps[k] }
            }
            var sums = SIMD4<Double>(repeating: 0)
            c = 0
            while c + 4 <= classes {
                for k in 0..<4 { sums[k] += Double(e[c + k]) }
                c += 4
            }
            while c < classes {
                sums[0] += Double(e[c])
                c += 1
            }
            workspace.logSumExp[r] = sums.sum()
        }
    }
}

/// Scratch space for `AnchorDistribution.meanKL`, one per worker thread.
public final class KLWorkspace {
    let logSumExp: UnsafeMutableBufferPointer<Double>
    let rowMax: UnsafeMutableBufferPointer<Float>
    /// One row's exponentials (many classes).
    let exponentials: UnsafeMutableBufferPointer<Float>
    /// All rows' shifted logits (few classes: a row is too short to vectorize on its own).
    let matrix: UnsafeMutableBufferPointer<Float>?

    /// Rows of fewer classes than this go through `matrix`.
    static let smallClassLimit = 32

    public init(rows: Int, classes: Int) {
        logSumExp = .allocate(capacity: rows)
        rowMax = .allocate(capacity: rows)
        exponentials = .allocate(capacity: classes)
        matrix = classes < Self.smallClassLimit ? .allocate(capacity: rows * classes) : nil
    }

    deinit {
        logSumExp.deallocate()
        rowMax.deallocate()
        exponentials.deallocate()
        matrix?.deallocate()
    }
}
