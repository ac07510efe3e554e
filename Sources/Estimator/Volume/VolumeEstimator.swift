#if canImport(Glibc)
import Base
import Glibc
#endif
import Synchronization

/// Estimates the local volume of one anchor under a KL cost (docs/estimator.md).
///
/// Directions are drawn from a counter-based RNG keyed by (seed, index), and every direction
/// after the first starts its search from the first direction's radius, so results are identical
/// for any thread count. Memory is O(D) per worker.
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

    public init(objective: any KLObjective, anchor: [Float], settings: EstimateSettings,
                threads: Int = WorkerPool.coreCount) throws(EstimatorError) {
        try settings.validate()
        precondition(anchor.count == objective.dimension)
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
    /// settings' order). `progress` is called with the number of finished directions;
    /// `shouldStop` is polled between directions and ends the run with `estimate.cancelled`.
    public func estimate(preconditioner: Preconditioner,
                         progress: (@Sendable (Int) -> Void)? = nil,
                         shouldStop: (@Sendable () -> Bool)? = nil) throws(EstimatorError) -> [Estimate] {
        let clock = ContinuousClock()
        let started = clock.now
        let k = settings.directions
        let order = settings.cutoffs.indices.sorted { settings.cutoffs[$0] < settings.cutoffs[$1] }
        let ascending = order.map { settings.cutoffs[$0] }
        let threads = max(1, min(threads, k))
        let source: any DirectionSource = switch settings.directionStream {
        case .philox: DirectionSampler(seed: settings.seed, dimension: dimension)
        case .torch: TorchDirections(seed: settings.seed, directions: k, dimension: dimension)
        }
        let prepared = preconditioner.isDense
            ? PreparedDirections(source: source, preconditioner: preconditioner, directions: k, threads: threads)
            : nil
        let workers = (0..<threads).map { _ in
            DirectionWorker(estimator: self, source: source, preconditioner: preconditioner, prepared: prepared, cutoffs: ascending)
        }
        let results = DirectionResults(directions: k, cutoffs: ascending.count)
        let done = Atomic<Int>(0)

        // Direction 0 alone: a cold start whose radius warm-starts every other direction.
        let first = workers[0].run(direction: 0, start: coldStart, exponentHint: 2)
        results.store(first, at: 0)
        progress?(done.add(1, ordering: .relaxed).newValue)
        let warm = first.crossings[0].radius.isFinite ? first.crossings[0].radius : coldStart
        let hint = first.exponent

        WorkerPool.run(threads: workers.count, count: k - 1) { worker, item in
            if shouldStop?() == true { return }
            let outcome = workers[worker].run(direction: item + 1, start: warm, exponentHint: hint)
            results.store(outcome, at: item + 1)
            progress?(done.add(1, ordering: .relaxed).newValue)
        }
        if shouldStop?() == true {
            throw EstimatorError(code: EstimatorError.cancelled, "the estimate was stopped before it finished")
        }
        let seconds = (clock.now - started).seconds

        var estimates: [Estimate] = []
        for (position, cutoffIndex) in order.enumerated() {
            let samples = (0..<k).map { results.sample(direction: $0, cutoff: position) }
            estimates.append(Estimate(
                cutoff: settings.cutoffs[cutoffIndex],
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
                nonfinite: results.nonfinite,
                seconds: seconds,
                secondsPreconditioner: preconditioner.secondsToBuild,
                preconditionerRelativeStandardError: preconditioner.relativeStandardError,
                samples: samples))
        }
        // Back to the order the cutoffs were given in.
        return order.indices.map { estimates[order.firstIndex(of: $0)!] }
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

/// Per-thread state: the direction buffers, the model's ray evaluator and the radius search.
final class DirectionWorker: @unchecked Sendable {
    struct Outcome {
        var crossings: [RadiusSearch.Crossing]
        var logEstimates: [Double]
        var nonfinite: Int
        var exponent: Double
    }

    private let estimator: VolumeEstimator
    private let preconditioner: Preconditioner
    private let source: any DirectionSource
    /// The dense preconditioner's directions, computed for all workers up front.
    private let prepared: PreparedDirections?
    private let evaluator: any RayEvaluator
    private let search: RadiusSearch
    /// u, then P·u, then the unit search direction v̂, in place.
    private let v: UnsafeMutableBufferPointer<Float>

    init(estimator: VolumeEstimator, source: any DirectionSource, preconditioner: Preconditioner,
         prepared: PreparedDirections?, cutoffs: [Double]) {
        self.estimator = estimator
        self.preconditioner = preconditioner
        self.prepared = prepared
        let d = estimator.dimension
        self.source = source
        evaluator = estimator.objective.makeEvaluator()
        search = RadiusSearch(cutoffs: cutoffs, tolerance: estimator.settings.tolerance,
                              maxDistance: estimator.maxDistance)
        v = .allocate(capacity: d)
    }

    deinit {
        v.deallocate()
    }

    func run(direction: Int, start: Double, exponentHint: Double) -> Outcome {
        let d = v.count
        // Float32 vectors are unit only to rounding. Everything below is computed for the exact
        // unit vectors they stand for (u/‖u‖ and v̂/‖v̂‖, norms in float64), so rounding never
        // reaches the D·log terms: the importance weight is ‖P·u‖/‖u‖ and the search runs over
        // true distances from the anchor.
        let uNorm: Double
        if let prepared {
            uNorm = prepared.copy(direction, into: v)
        } else {
            source.unitDirection(direction, into: v)
            uNorm = DirectionWorker.norm(UnsafeBufferPointer(v))
            preconditioner.apply(inPlace: v)
        }
        let vNorm = DirectionWorker.norm(UnsafeBufferPointer(v))
        let norm = vNorm / uNorm
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
        search.run(start: start, exponentHint: exponentHint) { distance in
            evaluator.cost(at: distance / unitNorm)
        }
        let crossings = search.crossings
        return Outcome(
            crossings: crossings,
            logEstimates: crossings.map { estimator.logEstimate(radius: $0.radius, norm: norm, b: b) },
            nonfinite: search.nonfinite,
            exponent: search.exponent)
    }

    static func norm(_ x: UnsafeBufferPointer<Float>) -> Double {
        var sum = 0.0
        for value in x { sum += Double(value) * Double(value) }
        return sum.squareRoot()
    }
}

/// Results written by index from any worker; read after all workers finish.
final class DirectionResults: @unchecked Sendable {
    private var outcomes: [DirectionWorker.Outcome?]
    private let lock = Mutex(())

    init(directions: Int, cutoffs: Int) {
        outcomes = Array(repeating: nil, count: directions)
    }

    func store(_ outcome: DirectionWorker.Outcome, at direction: Int) {
        lock.withLock { _ in outcomes[direction] = outcome }
    }

    func sample(direction: Int, cutoff: Int) -> DirectionSample {
        let o = outcomes[direction]!
        return DirectionSample(direction: direction, radius: o.crossings[cutoff].radius,
                               logEstimate: o.logEstimates[cutoff], klEvaluations: o.crossings[cutoff].evaluations)
    }

    /// NaN/∞ evaluations over all rays (shared by the cutoffs).
    var nonfinite: Int {
        outcomes.reduce(0) { $0 + $1!.nonfinite }
    }
}
