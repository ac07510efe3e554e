/// The loss neighbourhood's cost from a network's logits: the increase of the mean
/// cross-entropy against fixed targets over its value at the anchor, floored at 0 (points where
/// the loss falls are inside the neighbourhood).
///
/// Targets are the eval file's labels for an MLP's rows, and the next token for a language
/// model's positions. Only the target's logit and each row's log-sum-exp are read, so an
/// evaluation costs less than the KL's Σ_c p_c·(lse − z_c).
public struct AnchorLoss: Sendable {
    public let rows: Int
    public let classes: Int
    /// The class each row is scored against; −1 for rows that do not count.
    let targets: [Int32]
    public let positions: Int
    /// Mean cross-entropy at the anchor, from the same code path as every other evaluation (so
    /// that the anchor's own logits give exactly 0).
    public private(set) var anchorLoss: Double = 0

    /// `targets[r]` is row r's class, or nil where the row does not count.
    init(targets: [Int?], classes: Int) {
        rows = targets.count
        self.classes = classes
        self.targets = targets.map { $0.map(Int32.init) ?? -1 }
        positions = targets.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
        precondition(positions > 0, "a loss needs at least one counted row")
    }

    /// An MLP's rows scored against the eval file's `labels`: `eval.no_labels` without them,
    /// `eval.label_range` for a label outside the model's classes.
    /// (`CheckpointEstimation` names the eval file in both.)
    static func labels(_ labels: [Int]?, rows: Int, classes: Int) throws(EstimatorError) -> AnchorLoss {
        guard let labels else {
            throw EstimatorError(code: "eval.no_labels",
                                 "the loss neighbourhood scores an MLP's rows against the eval file's 'labels' [N], and this file has none")
        }
        guard labels.count == rows else {
            throw EstimatorError(code: "eval.label_range", "'labels' has \(labels.count) entries for \(rows) rows")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
            throw EstimatorError(code: "eval.label_range",
                                 "'labels' has class \(labels[bad]) at row \(bad); the model has \(classes) classes (0…\(classes - 1))")
        }
        return AnchorLoss(targets: labels, classes: classes)
    }

    /// A language model's positions scored against the next token: position p of a row predicts
    /// token p + 1, so positions 0…T−2 count, and of those only where both tokens are unmasked.
    static func nextTokens(_ tokens: TokenContext, vocabulary: Int) throws(EstimatorError) -> AnchorLoss {
        let length = tokens.length
        var targets = [Int?](repeating: nil, count: tokens.tokens)
        for row in 0..<tokens.rows {
            for p in 0..<max(0, length - 1) {
                let i = row * length + p
                if let mask = tokens.mask, !(mask[i] && mask[i + 1]) { continue }
                targets[i] = tokens.ids[i + 1]
            }
        }
        guard targets.contains(where: { $0 != nil }) else {
            throw EstimatorError(code: "eval.no_targets",
                                 "the loss neighbourhood needs a next token to predict: eval rows have \(length) token\(length == 1 ? "" : "s") and no unmasked pair of neighbours")
        }
        return AnchorLoss(targets: targets, classes: vocabulary)
    }

    /// Sets the anchor's mean cross-entropy from `total`, the `crossEntropySum` over all rows of
    /// the anchor's logits.
    mutating func setAnchor(total: Double) throws(EstimatorError) {
        let mean = total / Double(positions)
        guard mean.isFinite else {
            throw EstimatorError(code: "model.nonfinite_anchor",
                                 "the anchor's mean cross-entropy is \(mean) (NaN or infinite weights, or a target the model gives no probability?)")
        }
        anchorLoss = mean
    }

    /// Bytes held: the targets.
    public var byteCount: Int { targets.count * MemoryLayout<Int32>.stride }

    /// Σ over the counted rows in `rows` of lse − z_target, with `logits` holding just those rows
    /// ([rows.count, classes]); `workspace` needs room for rows.count rows.
    public func crossEntropySum(logits: UnsafePointer<Float>, rows: Range<Int>, workspace: KLWorkspace) -> Double {
        AnchorDistribution.rowLogSumExp(logits, rows: rows.count, classes: classes, workspace)
        var total = 0.0
        targets.withUnsafeBufferPointer { targets in
            for row in rows where targets[row] >= 0 {
                let local = row - rows.lowerBound
                total += workspace.logSumExp[local] - Double(logits[local * classes + Int(targets[row])])
            }
        }
        return total
    }

    /// max(0, mean cross-entropy − the anchor's) from the sum over all rows; NaN or ∞ as the
    /// loss is when the logits are not finite.
    public func cost(total: Double) -> Double {
        let increase = total / Double(positions) - anchorLoss
        guard increase.isFinite else { return increase }
        return max(0, increase)
    }
}
