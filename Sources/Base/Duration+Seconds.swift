extension Duration {
    /// The duration in seconds, for timings in reports and logs.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
