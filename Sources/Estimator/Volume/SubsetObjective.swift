/// The cost along rays that move only a subset of the parameters (`ParameterSelection`): a
/// direction in the subset's coordinates (dimension = the subset's count) is scattered into a
/// full-length direction that is zero elsewhere, which the model's own evaluator then reads —
/// so the rest of the network stays at the anchor, and every cost, KL or loss, works unchanged.
public struct SubsetObjective: KLObjective {
    public let base: any KLObjective
    public let selection: ParameterSelection

    public init(_ base: any KLObjective, selection: ParameterSelection) {
        precondition(selection.ranges.last.map { $0.upperBound <= base.dimension } ?? true)
        self.base = base
        self.selection = selection
    }

    public var dimension: Int { selection.count }
    public var positions: Int { base.positions }

    public func makeEvaluator() -> any RayEvaluator {
        SubsetRayEvaluator(base.makeEvaluator(), selection: selection, dimension: base.dimension)
    }

    public func makeEvaluator(lanes: Int) -> any RayEvaluator {
        SubsetRayEvaluator(base.makeEvaluator(lanes: lanes), selection: selection, dimension: base.dimension)
    }
}

/// A model's evaluator fed full-length directions built from subset ones; allocation-free after init.
final class SubsetRayEvaluator: RayEvaluator {
    private let base: any RayEvaluator
    private let selection: ParameterSelection
    /// The full direction: the subset's coordinates, zero elsewhere (written once, at init).
    private let full: UnsafeMutableBufferPointer<Float>
    /// A streamed subset direction, materialized.
    private let subset: UnsafeMutableBufferPointer<Float>

    init(_ base: any RayEvaluator, selection: ParameterSelection, dimension: Int) {
        self.base = base
        self.selection = selection
        full = .allocate(capacity: dimension)
        full.initialize(repeating: 0)
        subset = .allocate(capacity: selection.count)
    }

    deinit {
        full.deallocate()
        subset.deallocate()
    }

    var byteCount: Int { (full.count + subset.count) * MemoryLayout<Float>.stride }

    func setDirection(_ direction: RayDirection) {
        precondition(direction.dimension == selection.count)
        let values = direction.buffer ?? {
            direction.materialize(into: subset)
            return UnsafeBufferPointer(subset)
        }()
        selection.scatter(values.baseAddress!, into: full.baseAddress!)
        base.setDirection(UnsafeBufferPointer(full))
    }

    func cost(at t: Double) -> Double { base.cost(at: t) }
}
