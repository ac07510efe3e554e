/// One SGLD chain of an LLC estimate.
public struct LLCChain: Sendable, Equatable {
    /// Where a chain diverged: the first step (0-based, burn-in included) whose mini-batch loss
    /// was NaN/∞ or blew up (see `LLCSampler`), and which. The chain stops there.
    public struct Divergence: Sendable, Equatable {
        public enum Kind: String, Sendable { case nonFinite = "non_finite", blowUp = "blow_up" }
        public let step: Int
        public let kind: Kind
        public let loss: Double
        public init(step: Int, kind: Kind, loss: Double) {
            self.step = step
            self.kind = kind
            self.loss = loss
        }
    }

    /// nβ · (mean loss over the draws − the loss at w*); NaN when the chain diverged.
    public let llc: Double
    /// The mini-batch loss at every step, burn-in first (`burnIn + draws` values, fewer when
    /// the chain diverged), each measured before that step's update, as devinterp records it.
    public let losses: [Double]
    public let divergence: Divergence?
    /// Whether the draws' trace is flat: no trend between its first and last thirds beyond
    /// what their spread explains (`LLCSampler.isFlat`).
    public let flatAfterBurnIn: Bool

    public init(llc: Double, losses: [Double], divergence: Divergence?, flatAfterBurnIn: Bool) {
        self.llc = llc
        self.losses = losses
        self.divergence = divergence
        self.flatAfterBurnIn = flatAfterBurnIn
    }
}

/// The local learning coefficient of one checkpoint on one eval set: per-chain values, their
/// mean and spread, and what it took.
public struct LLCEstimate: Sendable, Equatable {
    public let settings: LLCSettings
    /// The batch size used (≤ the eval rows) and the nβ it resolved to.
    public let batchSize: Int
    public let nbeta: Double
    /// How many weights SGLD moved (the subset's D, or all of them).
    public let dimension: Int
    /// The mean cross-entropy at w* over the whole eval data.
    public let initLoss: Double
    public let chains: [LLCChain]
    /// Wall seconds of the sampling and of one SGLD step (all chains' steps counted).
    public let seconds: Double
    public let secondsPerDraw: Double

    public init(settings: LLCSettings, batchSize: Int, nbeta: Double, dimension: Int, initLoss: Double,
                chains: [LLCChain], seconds: Double, secondsPerDraw: Double) {
        self.settings = settings
        self.batchSize = batchSize
        self.nbeta = nbeta
        self.dimension = dimension
        self.initLoss = initLoss
        self.chains = chains
        self.seconds = seconds
        self.secondsPerDraw = secondsPerDraw
    }

    /// Mean LLC over the chains that did not diverge; NaN when all did.
    public var mean: Double {
        let values = chains.map(\.llc).filter(\.isFinite)
        return values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// Sample standard deviation (n − 1) over the chains that did not diverge; 0 for one chain.
    public var standardDeviation: Double {
        let values = chains.map(\.llc).filter(\.isFinite)
        guard values.count > 1 else { return values.isEmpty ? .nan : 0 }
        let m = mean
        return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
    }
}
