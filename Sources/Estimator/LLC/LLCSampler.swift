import Synchronization

/// Localized SGLD from the anchor w*, as devinterp 2.0.1's `sample` runs it with its `SGLD`
/// optimizer, and the LLC read off its loss traces.
///
/// Per chain, at step i: the mini-batch mean loss L_i and its gradient at w_i are measured and
/// recorded, then the moved weights step as
///     w ← w − (ε/2)(nβ·∇L_i(w) + γ(w − w*)) + √ε·ξ,   ξ ~ N(0, I),
/// the others staying at w*. LLC = nβ·(mean of L_i over the draws − L(w*)), with L(w*) the mean
/// loss over the whole eval data.
///
/// Mini-batches: B rows each, an order of the rows shuffled once from the seed (shared by every
/// chain), the incomplete last batch dropped, and that first epoch replayed for as long as the
/// chain runs (devinterp's `itertools.cycle` over a shuffled `DataLoader`).
///
/// Determinism: ξ of chain c at step i, coordinate k (of the moved ones) is element k of Philox
/// stream c·2³² + i under the seed (`DirectionSampler.normals`), the batch order comes from an
/// auxiliary stream, and each chain owns its weights: a seed gives the same chains on any
/// number of threads.
struct LLCSampler<Loss: SGLDLoss>: Sendable where Loss.Scalar == Float {
    /// A chain diverges when its loss exceeds L(w*) + `blowUpFactor`·max(1, L(w*)): far beyond
    /// any plausible posterior excursion (a legitimate chain's mean sits LLC/nβ above L(w*)).
    static var blowUpFactor: Double { 100 }

    let loss: Loss
    let anchor: [Float]
    let settings: LLCSettings
    /// The moved coordinates, ascending and disjoint.
    let moved: [Range<Int>]
    let dimension: Int
    let batchSize: Int
    let nbeta: Double
    let batches: [Loss.Batch]
    let initLoss: Double

    /// `selection` nil: every weight moves. `initLoss` nil: measured over every row at w*.
    init(loss: Loss, anchor: [Float], settings: LLCSettings, selection: ParameterSelection? = nil,
         initLoss: Double? = nil) throws(EstimatorError) {
        try settings.validate()
        precondition(anchor.count == loss.dimension)
        guard loss.rows >= 1 else { throw EstimatorError(code: "llc.no_data", "the eval data has no rows to draw mini-batches from") }
        self.loss = loss
        self.anchor = anchor
        self.settings = settings
        moved = selection?.ranges ?? [0..<anchor.count]
        dimension = moved.reduce(0) { $0 + $1.count }
        batchSize = min(settings.batchSize, loss.rows)
        nbeta = settings.resolvedNBeta(batchSize: batchSize)
        let order = Self.batchOrder(seed: settings.seed, rows: loss.rows)
        var batches: [Loss.Batch] = []
        for b in 0..<(loss.rows / batchSize) {
            batches.append(try loss.batch(Array(order[(b * batchSize)..<((b + 1) * batchSize)])))
        }
        self.batches = batches
        let l0: Double
        if let initLoss { l0 = initLoss } else { l0 = try loss.loss(at: anchor) }
        guard l0.isFinite else {
            throw EstimatorError(code: "llc.anchor_loss", "the loss at the checkpoint is not finite (\(l0)); there is no LLC to measure")
        }
        self.initLoss = l0
    }

    var steps: Int { settings.burnIn + settings.draws }

    /// Runs every chain on up to `threads` threads. `progress(stepsDone, stepsTotal)` counts
    /// steps over all chains; `shouldStop` is polled every step and ends the run with
    /// `estimate.cancelled`.
    func run(threads: Int, progress: (@Sendable (Int, Int) -> Void)? = nil,
             shouldStop: (@Sendable () -> Bool)? = nil) throws(EstimatorError) -> LLCEstimate {
        let clock = ContinuousClock()
        let started = clock.now
        let results = Mutex([LLCChain?](repeating: nil, count: settings.chains))
        let stepsDone = Atomic<Int>(0)
        let stopped = Atomic<Bool>(false)
        let total = settings.chains * steps
        WorkerPool.run(threads: threads, count: settings.chains) { _, chain in
            let result = self.chain(chain) {
                if stopped.load(ordering: .relaxed) { return false }
                if shouldStop?() == true {
                    stopped.store(true, ordering: .relaxed)
                    return false
                }
                return true
            } stepped: {
                let done = stepsDone.wrappingAdd(1, ordering: .relaxed).newValue
                progress?(done, total)
            }
            results.withLock { $0[chain] = result }
        }
        let seconds = (clock.now - started).seconds
        let chains = results.withLock { $0 }
        guard !stopped.load(ordering: .relaxed) else {
            throw EstimatorError(code: EstimatorError.cancelled, "the LLC estimate was stopped before it finished")
        }
        return LLCEstimate(settings: settings, batchSize: batchSize, nbeta: nbeta, dimension: dimension,
                           initLoss: initLoss, chains: chains.map { $0! }, seconds: seconds,
                           secondsPerDraw: seconds / Double(max(1, total)))
    }

    /// One chain: nil when `proceed` said stop.
    func chain(_ index: Int, proceed: () -> Bool, stepped: () -> Void) -> LLCChain? {
        var w = anchor
        var gradient = [Float](repeating: 0, count: anchor.count)
        var noise = [Float](repeating: 0, count: dimension)
        var losses: [Double] = []
        losses.reserveCapacity(steps)
        var divergence: LLCChain.Divergence?
        let normals = DirectionSampler(seed: settings.seed, dimension: dimension)
        var workspace = loss.makeWorkspace()
        let blowUp = initLoss + Self.blowUpFactor * max(1, initLoss)
        let drift = Float(settings.epsilon / 2 * nbeta)
        let pull = Float(settings.epsilon / 2 * settings.gamma)
        let diffusion = Float(settings.epsilon.squareRoot())
        for step in 0..<steps {
            guard proceed() else { return nil }
            // `w` is shared with the backward pass only inside this call, so the update below
            // writes it in place.
            let value = gradient.withUnsafeMutableBufferPointer {
                loss.lossAndGradient(at: w, batch: batches[step % batches.count], workspace: &workspace, gradient: $0.baseAddress!)
            }
            losses.append(value)
            if !value.isFinite {
                divergence = .init(step: step, kind: .nonFinite, loss: value)
                break
            }
            if value > blowUp {
                divergence = .init(step: step, kind: .blowUp, loss: value)
                break
            }
            noise.withUnsafeMutableBufferPointer {
                normals.normals(index << 32 | step, 0..<dimension, into: $0.baseAddress!)
            }
            w.withUnsafeMutableBufferPointer { w in
                anchor.withUnsafeBufferPointer { w0 in
                    gradient.withUnsafeBufferPointer { g in
                        noise.withUnsafeBufferPointer { xi in
                            var k = 0
                            for range in moved {
                                for j in range {
                                    w[j] = w[j] - drift * g[j] - pull * (w[j] - w0[j]) + diffusion * xi[k]
                                    k += 1
                                }
                            }
                        }
                    }
                }
            }
            stepped()
        }
        let draws = losses.dropFirst(settings.burnIn)
        let llc = divergence == nil ? nbeta * (draws.reduce(0, +) / Double(draws.count) - initLoss) : .nan
        return LLCChain(llc: llc, losses: losses, divergence: divergence,
                        flatAfterBurnIn: divergence == nil && Self.isFlat(draws))
    }

    /// Whether a trace of draws shows no trend: the means of its first and last thirds differ by
    /// at most 3 combined standard errors, √(s₁²/n₁ + s₃²/n₃) (sample variances). Treating
    /// successive draws as independent makes the test strict, not lenient. Fewer than 6 draws
    /// cannot show a trend: flat.
    static func isFlat(_ draws: ArraySlice<Double>) -> Bool {
        let third = draws.count / 3
        guard third >= 2 else { return true }
        func meanAndVariance(_ x: ArraySlice<Double>) -> (Double, Double) {
            let m = x.reduce(0, +) / Double(x.count)
            return (m, x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1))
        }
        let (m1, v1) = meanAndVariance(draws.prefix(third))
        let (m3, v3) = meanAndVariance(draws.suffix(third))
        let se = (v1 / Double(third) + v3 / Double(third)).squareRoot()
        return abs(m3 - m1) <= 3 * se
    }

    /// The rows in the order of the first epoch: a Fisher–Yates shuffle driven by Philox under
    /// the seed, on a stream of its own.
    static func batchOrder(seed: UInt64, rows: Int) -> [Int] {
        var order = Array(0..<rows)
        let philox = Philox(key: seed)
        var i = rows - 1
        while i > 0 {
            let bits = philox.block(stream: Philox.batchOrderStream, position: UInt64(i / 4))[i % 4]
            let j = Int(Philox.openUniform(bits) * Double(i + 1))
            order.swapAt(i, min(j, i))
            i -= 1
        }
        return order
    }
}

extension Philox {
    /// The stream of the SGLD mini-batch order.
    public static let batchOrderStream: UInt64 = auxiliaryStreams | 3
}
