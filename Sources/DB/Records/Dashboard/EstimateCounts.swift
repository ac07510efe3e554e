/// Estimate rows stored (every run, every daemon sharing the database): `/metrics`.
public struct EstimateCounts: Sendable, Equatable {
    public var computed: Int
    public var skipped: Int

    public init(computed: Int, skipped: Int) {
        self.computed = computed
        self.skipped = skipped
    }
}
