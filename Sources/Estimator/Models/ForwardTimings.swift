import Synchronization

/// Where a language model's KL evaluations spend their time, for `volumed bench`: thread-seconds
/// in matrix products, in attention (scores, the causal softmax, the weighted values, rotary),
/// in the vocabulary softmax and KL, and in whole evaluations (the rest — norms, activations,
/// embedding, the weight window — is what the parts leave of the whole).
///
/// Workspaces pick up the collector active when they are made (`collect(into:_:)`); outside one,
/// a workspace has none and the forward pass pays one nil check per part.
public final class ForwardTimings: Sendable {
    public enum Part: Int, Sendable, CaseIterable {
        case matrixProducts, attention, softmaxKL
    }

    private let matrixProducts = Atomic<Int>(0)
    private let attention = Atomic<Int>(0)
    private let softmaxKL = Atomic<Int>(0)
    private let evaluations = Mutex<[Double]>([])
    /// Σ wall × lanes over the evaluations: the thread-seconds they held.
    private let evaluationThreadNanoseconds = Atomic<Int>(0)

    public init() {}

    /// Thread-seconds spent in `part`.
    public func seconds(_ part: Part) -> Double {
        let n = switch part {
        case .matrixProducts: matrixProducts.load(ordering: .relaxed)
        case .attention: attention.load(ordering: .relaxed)
        case .softmaxKL: softmaxKL.load(ordering: .relaxed)
        }
        return Double(n) / 1e9
    }

    /// Wall seconds of each finished evaluation, in the order they finished.
    public var evaluationSeconds: [Double] { evaluations.withLock { $0 } }

    /// Thread-seconds of all evaluations: each one's wall time × the lanes it ran on, the
    /// whole of which the parts are shares.
    public var evaluationThreadSeconds: Double { Double(evaluationThreadNanoseconds.load(ordering: .relaxed)) / 1e9 }

    func add(_ part: Part, since start: ContinuousClock.Instant) {
        let n = Self.nanoseconds(ContinuousClock.now - start)
        switch part {
        case .matrixProducts: matrixProducts.add(n, ordering: .relaxed)
        case .attention: attention.add(n, ordering: .relaxed)
        case .softmaxKL: softmaxKL.add(n, ordering: .relaxed)
        }
    }

    func addEvaluation(since start: ContinuousClock.Instant, lanes: Int) {
        let nanoseconds = Self.nanoseconds(ContinuousClock.now - start)
        evaluationThreadNanoseconds.add(nanoseconds * lanes, ordering: .relaxed)
        evaluations.withLock { $0.append(Double(nanoseconds) / 1e9) }
    }

    private static func nanoseconds(_ d: Duration) -> Int {
        let (seconds, attoseconds) = d.components
        return Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    }

    /// Runs `body` with `timings` as the collector of every workspace made meanwhile (the
    /// evaluators an estimate makes for its workers). Not reentrant; one collector at a time.
    public static func collect<R, E: Error>(into timings: ForwardTimings, _ body: () throws(E) -> R) throws(E) -> R {
        active.withLock { $0 = timings }
        defer { active.withLock { $0 = nil } }
        return try body()
    }

    static var current: ForwardTimings? { active.withLock { $0 } }

    private static let active = Mutex<ForwardTimings?>(nil)
}

extension TransformerWorkspace {
    /// Runs `body`, its wall time counted as `part` when this workspace has a collector.
    @inline(__always)
    func timed(_ part: ForwardTimings.Part, _ body: () -> Void) {
        guard let timings else { return body() }
        let start = ContinuousClock.now
        body()
        timings.add(part, since: start)
    }
}
