#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The anchor network's predictive distribution over `classes` at each evaluation position, as
/// the KL cost needs it, and the KL of another network's logits from it.
///
/// KL(p ‖ q) at a row is Σ_c p_c·(lse − z_c) − Σ_c p_c·(lse0 − z0_c), with z the other
/// network's logits and lse their log-sum-exp. Only p (in float32: its rounding moves the KL
/// by a relative 1e-7) and the second sum per row (float64) are kept — a quarter of p and log p
/// in float64 — and that sum is computed by the same loop as the first, so that the anchor's
/// own logits give exactly 0.
public struct AnchorDistribution: Sendable {
    public let rows: Int
    public let classes: Int
    /// p_θ0 rounded to float32, row-major [rows, classes] (zero in rows the KL does not count).
    let probabilities: [Float]
    /// Σ_c p_c·(lse0 − z0_c) at each row: the anchor's cross-entropy with itself.
    let anchorCrossEntropy: [Double]
    /// Which rows count (unmasked positions); nil when all do.
    let counted: [Bool]?
    public let positions: Int

    /// `logits` are the anchor's outputs, [rows, classes]; `included` the rows that count (all
    /// when nil). Fails if any counted row is not finite.
    public init(logits: UnsafeBufferPointer<Float>, rows: Int, classes: Int, included: [Int]? = nil) throws(EstimatorError) {
        precondition(logits.count == rows * classes)
        let workspace = KLWorkspace(rows: rows, classes: classes)
        try self.init(rows: rows, classes: classes, included: included) { store in
            store(0..<rows, logits.baseAddress!, workspace)
        }
    }

    /// Built chunk by chunk: `chunks(store)` hands each chunk of rows' logits ([rows.count,
    /// classes]) to `store`, from any thread, with a workspace for rows.count rows, so the anchor's
    /// logits never exist for more than one chunk at a time. Each row's numbers depend on that
    /// row alone: any chunking gives the same distribution.
    init(rows: Int, classes: Int, included: [Int]?,
         chunks: (_ store: @Sendable (_ rows: Range<Int>, _ logits: UnsafePointer<Float>, _ workspace: KLWorkspace) -> Void) -> Void)
        throws(EstimatorError) {
        self.rows = rows
        self.classes = classes
        var counted: [Bool]? = nil
        if let included {
            var mask = [Bool](repeating: false, count: rows)
            for r in included { mask[r] = true }
            counted = mask
        }
        self.counted = counted
        positions = included?.count ?? rows
        var probabilities = [Float](repeating: 0, count: rows * classes)
        var crossEntropy = [Double](repeating: 0, count: rows)
        let firstNonFinite = Mutex(Int.max)
        probabilities.withUnsafeMutableBufferPointer { p in
            crossEntropy.withUnsafeMutableBufferPointer { e in
                let p = SendableBuffer(p), e = SendableBuffer(e)
                let mask = counted
                chunks { range, logits, workspace in
                    if let row = AnchorDistribution.store(logits, rows: range, classes: classes, counted: mask,
                                                          workspace: workspace, probabilities: p.buffer, crossEntropy: e.buffer) {
                        firstNonFinite.withLock { $0 = min($0, row) }
                    }
                }
            }
        }
        let bad = firstNonFinite.withLock { $0 }
        if bad != .max { throw AnchorDistribution.nonFinite(row: bad) }
        self.probabilities = probabilities
        anchorCrossEntropy = crossEntropy
    }

    /// p and the anchor's cross-entropy for the counted rows in `rows`, from their logits; the
    /// first counted row that is not finite, if any.
    private static func store(_ logits: UnsafePointer<Float>, rows: Range<Int>, classes: Int, counted: [Bool]?,
                              workspace: KLWorkspace, probabilities: UnsafeMutableBufferPointer<Float>,
                              crossEntropy: UnsafeMutableBufferPointer<Double>) -> Int? {
        rowLogSumExp(logits, rows: rows.count, classes: classes, workspace)
        for row in rows where counted?[row] ?? true {
            let local = row - rows.lowerBound
            let lse = workspace.logSumExp[local]
            guard lse.isFinite else { return row }
            let z = logits + local * classes
            let p = probabilities.baseAddress! + row * classes
            for c in 0..<classes { p[c] = Float(exp(Double(z[c]) - lse)) }
            crossEntropy[row] = AnchorDistribution.crossEntropy(p, z, classes: classes, logSumExp: lse)
        }
        return nil
    }

    static func nonFinite(row: Int) -> EstimatorError {
        EstimatorError(code: "model.nonfinite_anchor",
                       "the anchor's outputs are not finite at evaluation position \(row) (NaN or infinite weights?)")
    }

    /// Bytes held: the float32 probabilities and the per-row sums.
    public var byteCount: Int {
        probabilities.count * MemoryLayout<Float>.stride + anchorCrossEntropy.count * MemoryLayout<Double>.stride
    }

    /// Mean over counted rows of KL(p_θ0 ‖ softmax(logits)); NaN/∞ if the logits are not finite.
    public func meanKL(logits: UnsafePointer<Float>, workspace: KLWorkspace) -> Double {
        klSum(logits: logits, rows: 0..<rows, workspace: workspace) / Double(positions)
    }

    /// Σ over the counted rows in `rows` of KL(p_θ0 ‖ softmax(logits)), with `logits` holding
    /// just those rows ([rows.count, classes]); `workspace` needs room for rows.count rows.
    public func klSum(logits: UnsafePointer<Float>, rows: Range<Int>, workspace: KLWorkspace) -> Double {
        AnchorDistribution.rowLogSumExp(logits, rows: rows.count, classes: classes, workspace)
        var total = 0.0
        probabilities.withUnsafeBufferPointer { p in
            for row in rows where counted?[row] ?? true {
                let local = row - rows.lowerBound
                total += AnchorDistribution.crossEntropy(p.baseAddress! + row * classes, logits + local * classes,
                                                         classes: classes, logSumExp: workspace.logSumExp[local])
                    - anchorCrossEntropy[row]
            }
        }
        return total
    }

    /// Σ_c p_c·(lse − z_c) in float64, with four independent sums (one running sum is bound by
    /// the latency of each addition).
    @inline(__always)
    static func crossEntropy(_ p: UnsafePointer<Float>, _ z: UnsafePointer<Float>, classes: Int, logSumExp lse: Double) -> Double {
        var sums = SIMD4<Double>(repeating: 0)
        var c = 0
        while c + 4 <= classes {
            for k in 0..<4 { sums[k] += Double(p[c + k]) * (lse - Double(z[c + k])) }
            c += 4
        }
        var total = sums.sum()
        while c < classes {
            total += Double(p[c]) * (lse - Double(z[c]))
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
public final class KLWorkspace: @unchecked Sendable {
    let logSumExp: UnsafeMutableBufferPointer<Double>
    let rowMax: UnsafeMutableBufferPointer<Float>
    /// One row's exponentials (many classes).
    let exponentials: UnsafeMutableBufferPointer<Float>
    /// All rows' shifted logits (few classes: a row is too short to vectorize on its own).
    let matrix: UnsafeMutableBufferPointer<Float>?

    /// Rows of fewer classes than this go through `matrix`.
    static let smallClassLimit = 32

    /// Bytes held by the buffers.
    var byteCount: Int { Self.byteCount(rows: logSumExp.count, classes: exponentials.count) }

    /// Bytes a workspace for `rows` rows of `classes` classes holds.
    static func byteCount(rows: Int, classes: Int) -> Int {
        rows * MemoryLayout<Double>.stride + rows * MemoryLayout<Float>.stride
            + (classes + (classes < smallClassLimit ? rows * classes : 0)) * MemoryLayout<Float>.stride
    }

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
