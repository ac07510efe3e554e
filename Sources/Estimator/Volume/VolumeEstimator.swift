#if canImport(Glibc)
import Base
import Glibc
#endif
import Synchronization

/// Estimates the local volume of one anchor under a KL cost (docs/estimator.md).
///
/// Directions are drawn from a counter-based RNG keyed by (seed, index), and every direction
/// after the first starts its search from the first direction's radius, so results are identical
/// for any thread count. A worker streams its direction (no D-length buffer) unless the direction
/// must be materialized (a dense preconditioner, PyTorch's stream).
public struct VolumeEstimator: Sendable {
    public let objective: any KLObjective
    public let anchor: [Float]
    public let settings: EstimateSettings
    public let threads: Int
    /// σ resolved to a number.
    public let sigma: Double
    /// ‖θ0 − μ‖².
    let centerDistanceSquared: Double
    /// t_max = ‖θ0 − μ‖ + 10·σ·√D: beyond it the prior has no mass to speak of.
    let maxDistance: Double

    /// Directions of models with at least this many parameters are streamed (regenerated block by
    /// block by the evaluator, never held); smaller ones are held whole by each worker, since
    /// regenerating a direction costs about as much as a small model's forward pass while its
    /// buffer is at most 32 MiB. A function of D alone, so the path — and every bit of the
    /// result — is the same for any thread count or sharding.
    public static let streamingDimension = 1 << 23

    /// `streamingDimension` unless a test lowers it.
    let streamingDimension: Int

    public init(objective: any KLObjective, anchor: [Float], settings: EstimateSettings,
                threads: Int = WorkerPool.coreCount) throws(EstimatorError) {
        try self.init(objective: objective, anchor: anchor, settings: settings, threads: threads,
                      streamingDimension: Self.streamingDimension)
    }

    init(objective: any KLObjective, anchor: [Float], settings: EstimateSettings,
         threads: Int, streamingDimension: Int) throws(EstimatorError) {
        self.streamingDimension = streamingDimension
        try settings.validate()
        precondition(anchor.count == objective.dimension)
        if settings.directionStream == .torch {
            try TorchDirections.requireFits(directions: settings.directions, dimension: anchor.count,
                                            available: SystemMemory.availableBytes())
        }
        self.objective = objective
        self.anchor = anchor
        self.settings = settings
        self.threads = max(1, threads)
        let d = Double(anchor.count)
        var sumSquares = 0.0
        for x in anchor { sumSquares += Double(x) * Double(x) }
        switch settings.sigma {
        case .rms: sigma = (sumSquares / d).squareRoot()
        case .value(let v): sigma = v
        }
        guard sigma.isFinite, sigma > 0 else {
            throw EstimatorError(code: "settings.sigma", "σ = \(sigma): the anchor's parameters are all zero; give --sigma a number")
        }
        centerDistanceSquared = settings.priorCenter == .zero ? sumSquares : 0
        maxDistance = centerDistanceSquared.squareRoot() + 10 * sigma * d.squareRoot()
    }

    public var dimension: Int { anchor.count }

    /// Runs all directions for one preconditioner and returns one estimate per cutoff (in the
    /// settings' order). `progress` is called as directions finish; `shouldStop` is polled
    /// between directions and ends the run with `estimate.cancelled`.
    ///
    /// The same as `firstDirection`, then `directions(1..<k)`, then `estimates(from:)`: a
    /// sharded estimate that runs those pieces in other processes gets identical results.
    public func estimate(preconditioner: Preconditioner,
                         progress: (@Sendable (EstimateProgress) -> Void)? = nil,
                         shouldStop: (@Sendable () -> Bool)? = nil) throws(EstimatorError) -> [Estimate] {
        let clock = ContinuousClock()
        let started = clock.now
        let k = settings.directions
        let first = firstDirection(preconditioner: preconditioner)
        let counter = ProgressCounter(directions: k, report: progress)
        counter.finished(first)
        var outcomes = [first]
        if k > 1 {
            outcomes += try directions(1..<k, preconditioner: preconditioner, first: first,
                                       progress: { counter.finished($0) }, shouldStop: shouldStop)
        }
        return estimates(preconditioner: preconditioner, outcomes: outcomes, seconds: (clock.now - started).seconds)
    }

    /// Direction 0's search from a cold start. Its radius and growth exponent warm-start every
    /// other direction, so any shard of an estimate needs it (computed or stored).
    public func firstDirection(preconditioner: Preconditioner) -> DirectionOutcome {
        let plan = DirectionPlan(self, preconditioner: preconditioner, indices: 0..<1, threads: threads)
        return plan.worker(0).run(direction: 0, start: coldStart, exponentHint: 2)
    }

    /// The outcomes of `range` (a sub-range of 0..<k), warm-started from `first` (direction
    /// 0's outcome, which is returned as it is where the range holds 0). Each direction's
    /// outcome depends only on its index, `first` and the settings — not on the range, the
    /// thread count or the order directions finish in. `progress` gets each finished outcome.
    public func directions(_ range: Range<Int>, preconditioner: Preconditioner, first: DirectionOutcome,
                           progress: (@Sendable (DirectionOutcome) -> Void)? = nil,
                           shouldStop: (@Sendable () -> Bool)? = nil) throws(EstimatorError) -> [DirectionOutcome] {
        precondition(range.lowerBound >= 0 && range.upperBound <= settings.directions,
                     "directions \(range) are outside 0..<\(settings.directions)")
        precondition(first.direction == 0, "the warm start is direction 0's outcome")
        let searched = range.lowerBound == 0 ? range.dropFirst() : range[...]
        let start = first.warmStartRadius(cutoffs: settings.cutoffs) ?? coldStart
        let results = DirectionResults(count: range.count)
        if range.lowerBound == 0 { results.store(first, at: 0) }
        if !searched.isEmpty {
            let plan = DirectionPlan(self, preconditioner: preconditioner, indices: searched, threads: threads)
            let offset = searched.lowerBound
            WorkerPool.run(threads: plan.workers, count: searched.count) { worker, item in
                if shouldStop?() == true { return }
                let outcome = plan.worker(worker).run(direction: offset + item, start: start, exponentHint: first.exponent)
                results.store(outcome, at: offset + item - range.lowerBound)
                progress?(outcome)
            }
        }
        if shouldStop?() == true {
            throw EstimatorError(code: EstimatorError.cancelled, "the estimate was stopped before it finished")
        }
        return results.outcomes
    }

    /// One estimate per cutoff (in the settings' order) from all k directions' outcomes, in
    /// direction order. `seconds` is the wall time reported (shards add theirs).
    public func estimates(preconditioner: Preconditioner, outcomes: [DirectionOutcome], seconds: Double) -> [Estimate] {
        let k = settings.directions
        precondition(outcomes.count == k && outcomes.enumerated().allSatisfy { $0.offset == $0.element.direction },
                     "an estimate needs the outcomes of directions 0..<\(k) in order")
        let nonfinite = outcomes.reduce(0) { $0 + $1.nonfinite }
        return settings.cutoffs.indices.map { c in
            let samples = outcomes.map { $0.samples[c] }
            return Estimate(
                cutoff: settings.cutoffs[c],
                preconditioner: preconditioner.spec,
                prior: settings.prior,
                priorCenter: settings.priorCenter,
                sigmaRule: settings.sigma,
                sigma: sigma,
                directions: k,
                seed: settings.seed,
                tolerance: settings.tolerance,
                aggregate: Aggregate(samples: samples.map(\.logEstimate), seed: settings.seed),
                klEvaluations: samples.reduce(0) { $0 + $1.klEvaluations },
                unbounded: samples.reduce(0) { $0 + ($1.radius.isInfinite ? 1 : 0) },
                nonfinite: nonfinite,
                seconds: seconds,
                secondsPreconditioner: preconditioner.secondsToBuild,
                preconditionerRelativeStandardError: preconditioner.relativeStandardError,
                samples: samples)
        }
    }

    /// The first direction's first guess: a small fraction of the prior's scale.
    var coldStart: Double { 0.05 * sigma * Double(dimension).squareRoot() }

    /// s_i for a radius along v̂ with ‖v‖ = `norm` and b = v̂·(θ0 − μ).
    func logEstimate(radius: Double, norm: Double, b: Double) -> Double {
        let d = dimension
        let area = RadialIntegral.logSphereArea(dimension: d)
        switch settings.prior {
        case .gaussian:
            return area - Double(d) * log(norm)
                + RadialIntegral.logGaussian(dimension: d, radius: radius, b: b, c: centerDistanceSquared, sigma: sigma)
        case .uniform:
            if radius.isInfinite { return .infinity }
            return area - log(Double(d)) + Double(d) * (log(radius) - log(norm))
        }
    }
}

/// Per-worker state: the model's ray evaluator (on `lanes` threads), the radius search, and for
/// directions that are not streamed, their buffer.
final class DirectionWorker: @unchecked Sendable {
    private let estimator: VolumeEstimator
    private let preconditioner: Preconditioner
    private let source: any DirectionSource
    /// Philox directions under the identity or a diagonal preconditioner are streamed: the
    /// evaluator regenerates them block by block, and no D-length buffer is held.
    private let sampler: DirectionSampler?
    /// The dense preconditioner's directions, computed for all workers up front.
    private let prepared: PreparedDirections?
    private let evaluator: any RayEvaluator
    private let lanes: Int
    private let search: RadiusSearch
    /// Position in the search's ascending cutoffs of each cutoff in the settings' order.
    private let ascendingPosition: [Int]
    /// A materialized direction: u, then P·u, then the unit search direction v̂, in place.
    private let v: UnsafeMutableBufferPointer<Float>?

    init(estimator: VolumeEstimator, source: any DirectionSource, preconditioner: Preconditioner,
         prepared: PreparedDirections?, lanes: Int) {
        self.estimator = estimator
        let cutoffs = estimator.settings.cutoffs
        let ascending = cutoffs.indices.sorted { cutoffs[$0] < cutoffs[$1] }
        ascendingPosition = cutoffs.indices.map { ascending.firstIndex(of: $0)! }
        self.preconditioner = preconditioner
        self.prepared = prepared
        self.source = source
        self.lanes = lanes
        sampler = preconditioner.isDense || estimator.dimension < estimator.streamingDimension
            ? nil : source as? DirectionSampler
        evaluator = estimator.objective.makeEvaluator(lanes: lanes)
        search = RadiusSearch(cutoffs: ascending.map { cutoffs[$0] }, tolerance: estimator.settings.tolerance,
                              maxDistance: estimator.maxDistance)
        v = sampler == nil ? .allocate(capacity: estimator.dimension) : nil
    }

    deinit {
        v?.deallocate()
    }

    func run(direction: Int, start: Double, exponentHint: Double) -> DirectionOutcome {
        // Everything below is computed for the exact unit vectors the float32 directions stand
        // for (norms in float64), so rounding never reaches the D·log terms: the importance
        // weight is ‖P·u‖/‖u‖ and the search runs over true distances from the anchor.
        let (norm, b, unitNorm) = sampler.map { streamed(direction, $0) } ?? materialized(direction)
        search.run(start: start, exponentHint: exponentHint) { distance in
            evaluator.cost(at: distance / unitNorm)
        }
        let crossings = search.crossings
        return DirectionOutcome(
            direction: direction,
            samples: ascendingPosition.map { position in
                let crossing = crossings[position]
                return DirectionSample(direction: direction, radius: crossing.radius,
                                       logEstimate: estimator.logEstimate(radius: crossing.radius, norm: norm, b: b),
                                       klEvaluations: crossing.evaluations)
            },
            nonfinite: search.nonfinite,
            exponent: search.exponent)
    }

    /// A streamed direction: one pass over g (on the evaluator's lanes) gives ‖g‖ and ‖P·g‖ in
    /// float64, a second the norm of the float32 v̂ = P·g/‖P·g‖ the evaluator will see and v̂·θ0;
    /// the evaluator regenerates v̂ as it needs it.
    private func streamed(_ index: Int, _ sampler: DirectionSampler) -> (norm: Double, b: Double, unitNorm: Double) {
        let centred = estimator.settings.priorCenter == .zero
        let (direction, moments) = estimator.anchor.withUnsafeBufferPointer { a in
            StreamedDirection.measure(sampler, index: index, diagonal: preconditioner.diagonal,
                                      anchor: centred ? a.baseAddress : nil, lanes: lanes)
        }
        evaluator.setDirection(.streamed(direction))
        let norm = moments.preconditionedNormSquared.squareRoot() / moments.normSquared.squareRoot()
        let unitNorm = moments.unitNormSquared.squareRoot()
        // b = v̂·(θ0 − μ): zero when the prior is centred at the anchor.
        return (norm, centred ? moments.anchorDot / unitNorm : 0, unitNorm)
    }

    /// A direction held in `v`: drawn (or copied from the dense preconditioner's), multiplied by
    /// P and normalized in place.
    private func materialized(_ direction: Int) -> (norm: Double, b: Double, unitNorm: Double) {
        guard let v else { preconditionFailure("a streamed worker holds no direction buffer") }
        let d = v.count
        let uNorm: Double
        if let prepared {
            uNorm = prepared.copy(direction, into: v)
        } else {
            source.unitDirection(direction, into: v)
            uNorm = DirectionWorker.norm(UnsafeBufferPointer(v))
            preconditioner.apply(inPlace: v)
        }
        let vNorm = DirectionWorker.norm(UnsafeBufferPointer(v))
        let inverse = Float(1 / vNorm)
        for i in 0..<d { v[i] *= inverse }
        let unitNorm = DirectionWorker.norm(UnsafeBufferPointer(v))

        // b = v̂·(θ0 − μ): zero when the prior is centred at the anchor.
        var b = 0.0
        if estimator.settings.priorCenter == .zero {
            estimator.anchor.withUnsafeBufferPointer { a in
                for i in 0..<d { b += Double(v[i]) * Double(a[i]) }
            }
            b /= unitNorm
        }
        evaluator.setDirection(UnsafeBufferPointer(v))
        return (vNorm / uNorm, b, unitNorm)
    }

    static func norm(_ x: UnsafeBufferPointer<Float>) -> Double {
        var sum = 0.0
        for value in x { sum += Double(value) * Double(value) }
        return sum.squareRoot()
    }
}

/// The workers of one run over some directions: their direction source, a dense
/// preconditioner's directions computed up front, and one `DirectionWorker` per concurrent
/// direction, each evaluating on threads / workers lanes.
private struct DirectionPlan {
    let workers: Int
    private let pool: [DirectionWorker]

    init(_ estimator: VolumeEstimator, preconditioner: Preconditioner, indices: Range<Int>, threads: Int) {
        let settings = estimator.settings
        let source: any DirectionSource = switch settings.directionStream {
        case .philox: DirectionSampler(seed: settings.seed, dimension: estimator.dimension)
        case .torch: TorchDirections(seed: settings.seed, directions: settings.directions, dimension: estimator.dimension)
        }
        workers = max(1, min(threads, indices.count))
        let lanes = max(1, threads / workers)
        let prepared = preconditioner.isDense
            ? PreparedDirections(source: source, preconditioner: preconditioner, indices: indices,
                                 directions: settings.directions, threads: workers)
            : nil
        pool = (0..<workers).map { _ in
            DirectionWorker(estimator: estimator, source: source, preconditioner: preconditioner,
                            prepared: prepared, lanes: lanes)
        }
    }

    func worker(_ index: Int) -> DirectionWorker { pool[index] }
}

/// Counts finished directions and KL evaluations for a progress callback.
private final class ProgressCounter: Sendable {
    private let state = Mutex(EstimateProgress(directionsDone: 0, directions: 0, klEvaluations: 0))
    private let report: (@Sendable (EstimateProgress) -> Void)?

    init(directions: Int, report: (@Sendable (EstimateProgress) -> Void)?) {
        state.withLock { $0.directions = directions }
        self.report = report
    }

    func finished(_ outcome: DirectionOutcome) {
        guard let report else { return }
        let now = state.withLock { progress in
            progress.directionsDone += 1
            progress.klEvaluations += outcome.klEvaluations
            return progress
        }
        report(now)
    }
}

/// Outcomes written by index from any worker; read after all workers finish.
final class DirectionResults: @unchecked Sendable {
    private var slots: [DirectionOutcome?]
    private let lock = Mutex(())

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func store(_ outcome: DirectionOutcome, at index: Int) {
        lock.withLock { _ in slots[index] = outcome }
    }

    /// Every slot's outcome; only after every slot was stored.
    var outcomes: [DirectionOutcome] { slots.map { $0! } }
}
