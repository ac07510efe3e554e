/// `[llc]` of the daemon's configuration, with a run's `volume.toml` `[llc]` laid over it:
/// whether every new checkpoint also gets an LLC job, and its settings.
public struct LLCPlan: Sendable, Equatable {
    /// Off unless enabled: an LLC costs chains × (burn-in + draws) gradient steps.
    public var enabled = false
    public var settings = LLCSettings()

    public init(enabled: Bool = false, settings: LLCSettings = LLCSettings()) {
        self.enabled = enabled
        self.settings = settings
    }
}
