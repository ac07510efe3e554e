/// What to compute for a checkpoint: the estimate settings and the preconditioners to run,
/// after defaults, configuration, the run's manifest and the command line are layered.
public struct EstimationPlan: Sendable, Equatable {
    public var settings: EstimateSettings
    public var preconditioners: [PreconditionerSpec]

    /// The defaults (docs/estimator.md, "Settings and defaults"): cutoff 1e-2, `none` and `adam`, Gaussian prior at zero with σ = RMS,
    /// 100 directions, seed 0, tolerance 1e-2.
    public init(settings: EstimateSettings = EstimateSettings(),
                preconditioners: [PreconditionerSpec] = [.none, .adam]) {
        self.settings = settings
        self.preconditioners = preconditioners
    }
}

extension PreconditionerSpec {
    public static let none = try! PreconditionerSpec(kind: .none)
    public static let adam = try! PreconditionerSpec(kind: .adam)
}
