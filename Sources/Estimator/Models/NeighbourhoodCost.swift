/// What the cost along a ray scores a perturbed network's logits by (`EstimateSettings.Neighbourhood`):
/// the KL from the anchor's predictive distribution, or the increase of the cross-entropy
/// against fixed targets. Both sum over rows chunk by chunk with a `KLWorkspace`, allocation-free.
public enum NeighbourhoodCost: Sendable {
    case kl(AnchorDistribution)
    case loss(AnchorLoss)

    /// Positions the cost is averaged over.
    public var positions: Int {
        switch self {
        case .kl(let d): d.positions
        case .loss(let l): l.positions
        }
    }

    /// Bytes held besides the workspaces.
    public var byteCount: Int {
        switch self {
        case .kl(let d): d.byteCount
        case .loss(let l): l.byteCount
        }
    }

    /// The sum over the counted rows in `rows` of the per-position term (KL, or cross-entropy),
    /// with `logits` holding just those rows.
    @inline(__always)
    public func sum(logits: UnsafePointer<Float>, rows: Range<Int>, workspace: KLWorkspace) -> Double {
        switch self {
        case .kl(let d): d.klSum(logits: logits, rows: rows, workspace: workspace)
        case .loss(let l): l.crossEntropySum(logits: logits, rows: rows, workspace: workspace)
        }
    }

    /// The cost from the sum over every row.
    @inline(__always)
    public func cost(total: Double) -> Double {
        switch self {
        case .kl(let d): total / Double(d.positions)
        case .loss(let l): l.cost(total: total)
        }
    }
}
