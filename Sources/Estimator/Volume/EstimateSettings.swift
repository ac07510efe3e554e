/// Everything that defines an estimate besides the checkpoint, its eval data and the
/// preconditioner (docs/storage.md, "Estimates": these are part of an estimate's unique key).
public struct EstimateSettings: Sendable, Equatable {
    public enum Prior: String, Sendable, CaseIterable {
        /// ρ = N(μ, σ²I), the initialization prior.
        case gaussian
        /// Lebesgue measure: the plain volume of the star domain.
        case uniform
    }

    public enum PriorCenter: String, Sendable, CaseIterable {
        case zero
        case anchor
    }

    public enum SigmaRule: Sendable, Equatable, CustomStringConvertible {
        /// RMS of the anchor's parameters.
        case rms
        case value(Double)

        public init?(_ text: String) {
            if text.lowercased() == "rms" {
                self = .rms
            } else if let v = Double(text), v.isFinite, v > 0 {
                self = .value(v)
            } else {
                return nil
            }
        }

        public var description: String {
            switch self {
            case .rms: "rms"
            case .value(let v): formatNumber(v)
            }
        }
    }

    /// What the cutoff bounds along a ray.
    public enum Neighbourhood: String, Sendable, CaseIterable {
        /// Mean KL(p_θ0 ‖ p_θ) over the eval positions (the paper's).
        case kl
        /// The increase of the mean cross-entropy (labels, or next tokens) over its value at
        /// the anchor, floored at 0: points where the loss falls are inside.
        case loss
    }

    public var cutoffs: [Double]
    /// Part of the estimate's key; `.kl` unless asked.
    public var neighbourhood: Neighbourhood = .kl
    /// Glob patterns over parameter names (`ParameterSelection`), sorted: directions only in
    /// those coordinates. Empty: every parameter. Part of the estimate's key.
    public var parameters: [String] = []
    public var prior: Prior
    public var priorCenter: PriorCenter
    public var sigma: SigmaRule
    public var directions: Int
    public var seed: UInt64
    public var tolerance: Double
    /// How directions are drawn from the seed (default Philox; `.torch` reproduces tyche's).
    public var directionStream: DirectionStream = .philox

    public init(cutoffs: [Double] = [0.01], prior: Prior = .gaussian, priorCenter: PriorCenter = .zero,
                sigma: SigmaRule = .rms, directions: Int = 100, seed: UInt64 = 0, tolerance: Double = 0.01) {
        self.cutoffs = cutoffs
        self.prior = prior
        self.priorCenter = priorCenter
        self.sigma = sigma
        self.directions = directions
        self.seed = seed
        self.tolerance = tolerance
    }
}

/// The random stream an estimate's directions come from.
public enum DirectionStream: String, Sendable, CaseIterable {
    /// `DirectionSampler`: counter-based, each direction drawn on its own.
    case philox
    /// `TorchDirections`: PyTorch's `manual_seed(seed); randn(k, D)`, as tyche draws them.
    case torch
}
