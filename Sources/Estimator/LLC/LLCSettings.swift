#if canImport(Glibc)
import Glibc
#endif

/// Everything that defines an LLC estimate besides the checkpoint and its eval data: the
/// localized SGLD sampler's hyperparameters as devinterp 2.0.1 names them, and the parameter
/// subset it moves. Defaults are devinterp's where it has them (nβ from the batch size) and its
/// documentation's recommendation for small models otherwise (README, "The local learning
/// coefficient").
public struct LLCSettings: Sendable, Equatable {
    /// ε, the step size (devinterp's `lr`).
    public var epsilon: Double = 1e-3
    /// γ, the localization strength pulling the chain back to w*.
    public var gamma: Double = 100
    /// nβ, the inverse temperature; nil: devinterp's `default_nbeta`, B / ln B for batch size B.
    public var nbeta: Double?
    public var chains: Int = 4
    /// Draws per chain (one SGLD step each) after burn-in.
    public var draws: Int = 200
    public var burnIn: Int = 0
    /// B, eval rows per mini-batch; at most the eval data's row count (fewer rows: all of them).
    public var batchSize: Int = 32
    public var seed: UInt64 = 0
    /// Glob patterns over parameter names, sorted (`ParameterSelection`); empty: every weight moves.
    public var parameters: [String] = []

    public init() {}

    /// devinterp's `default_nbeta`: B / ln B, and 1 for B ≤ 1.
    public static func defaultNBeta(batchSize: Int) -> Double {
        batchSize <= 1 ? 1 : Double(batchSize) / log(Double(batchSize))
    }

    /// nβ for batches of `batchSize` rows.
    public func resolvedNBeta(batchSize: Int) -> Double {
        nbeta ?? Self.defaultNBeta(batchSize: batchSize)
    }
}
