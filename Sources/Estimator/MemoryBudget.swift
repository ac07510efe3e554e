/// What an estimate holds in memory, term by term, predicted from a loaded checkpoint before
/// any preconditioner runs (docs/estimator.md, "Memory"). Terms are bytes of the estimator's
/// own buffers; code, the allocator's slack and OpenBLAS's buffers are not in it.
public struct MemoryBudget: Sendable, CustomStringConvertible {
    public struct Term: Sendable, Equatable {
        public let name: String
        public let bytes: Int
    }

    public let terms: [Term]

    public var total: Int { terms.reduce(0) { $0 + $1.bytes } }

    /// The bytes of the term called `name`; 0 when there is none.
    public func bytes(of name: String) -> Int {
        terms.first { $0.name == name }?.bytes ?? 0
    }

    /// `anchor weights 4.04 GB + … = 5.61 GB`, terms in order.
    public var description: String {
        terms.map { "\($0.name) \(Self.format($0.bytes))" }.joined(separator: " + ") + " = \(Self.format(total))"
    }

    static func format(_ bytes: Int) -> String {
        let units = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, unit) in units where bytes >= size {
            let value = Double(bytes) / Double(size)
            let tenths = (value * 10).rounded() / 10
            return "\(tenths) \(unit)"
        }
        return "\(bytes) B"
    }

    /// Term names.
    public static let anchorWeights = "anchor weights"
    public static let preconditioner = "preconditioner"
    public static let anchorDistribution = "anchor distribution"
    public static let workspace = "workspace"
    public static let torchDirections = "torch directions"
    public static let preparedDirections = "prepared directions"
}

extension CheckpointEstimation {
    /// The memory an estimate of this checkpoint holds with these preconditioners (the largest
    /// of each, not their sum: they run one after another) on `threads` threads, under the plan's
    /// settings. Needs nothing but the loaded checkpoint.
    ///
    /// - anchor weights: θ0, D float32.
    /// - preconditioner: one float32 vector for a diagonal kind (`adam`, `adam-m`, `fisher`);
    ///   the D×D eigenvectors for `hessian`; nothing for `none`.
    /// - anchor distribution: p_θ0 in float32 and a float64 per position.
    /// - workspace: per concurrent worker, its evaluator (a language model's: the residual
    ///   stream, one stage window, and one chunk's activations and KL scratch per lane) and, for
    ///   directions that are not streamed, its D-length direction; times the workers.
    /// - torch directions: k×D float32 for `--directions-from torch`.
    /// - prepared directions: `hessian`'s k×D float32 of P·u.
    public func memoryBudget(preconditioners: [PreconditionerSpec], threads: Int) -> MemoryBudget {
        let d = model.layout.count
        let float = MemoryLayout<Float>.stride
        let settings = plan.settings
        let k = settings.directions
        let kinds = Set(preconditioners.map(\.kind))
        let dense = kinds.contains(.hessian)
        let torch = settings.directionStream == .torch
        var terms = [MemoryBudget.Term(name: MemoryBudget.anchorWeights, bytes: d * float)]

        let diagonal = !kinds.isDisjoint(with: [.adam, .adamM, .fisher])
        let preconditioner = max(diagonal ? d * float : 0, dense ? d * d * float + d * float : 0)
        terms.append(.init(name: MemoryBudget.preconditioner, bytes: preconditioner))

        let anchor: Int
        switch (objective as? SubsetObjective)?.base ?? objective {
        case let lm as LanguageModelObjective: anchor = lm.cost.byteCount
        case let mlp as MLPObjective: anchor = mlp.cost.byteCount
        case let vision as VisionObjective: anchor = vision.cost.byteCount
        default: anchor = 0
        }
        terms.append(.init(name: MemoryBudget.anchorDistribution, bytes: anchor))

        // Direction 0 runs alone on all threads; the others on min(threads, k − 1) workers.
        let threads = max(1, threads)
        let materialized = dense || torch || d < VolumeEstimator.streamingDimension
        let phases = [(workers: 1, lanes: threads)]
            + (k > 1 ? [(workers: min(threads, k - 1), lanes: max(1, threads / min(threads, k - 1)))] : [])
        let workspace = phases.map { phase in
            phase.workers * (Self.evaluatorBytes(objective, lanes: phase.lanes) + (materialized ? d * float : 0))
        }.max() ?? 0
        terms.append(.init(name: MemoryBudget.workspace, bytes: workspace))
        if torch { terms.append(.init(name: MemoryBudget.torchDirections, bytes: k * d * float)) }
        if dense { terms.append(.init(name: MemoryBudget.preparedDirections, bytes: k * d * float)) }
        return MemoryBudget(terms: terms)
    }

    /// One worker's evaluator on `lanes` lanes, without building it.
    static func evaluatorBytes(_ objective: any KLObjective, lanes: Int) -> Int {
        switch objective {
        case let lm as LanguageModelObjective: ForwardState.byteCount(lm.pass, lanes: lanes)
        case let mlp as MLPObjective: mlp.evaluatorBytes
        case let vision as VisionObjective: vision.evaluatorBytes(lanes: lanes)
        // The model's evaluator, the full-length direction and a subset one.
        case let subset as SubsetObjective:
            evaluatorBytes(subset.base, lanes: lanes) + (subset.base.dimension + subset.dimension) * MemoryLayout<Float>.stride
        default: 0
        }
    }

    /// Floating-point operations of one KL evaluation of a language model (matrix products and
    /// causal attention) or a vision model (convolutions and linear layers); nil for MLPs.
    public var flopsPerEvaluation: Int? { Self.flopsPerEvaluation(objective) }

    /// The floating-point operations of one evaluation of `objective`, as `flopsPerEvaluation`.
    public static func flopsPerEvaluation(_ objective: any KLObjective) -> Int? {
        switch (objective as? SubsetObjective)?.base ?? objective {
        case let lm as LanguageModelObjective: lm.flopsPerEvaluation
        case let vision as VisionObjective: vision.flopsPerEvaluation
        default: nil
        }
    }
}
