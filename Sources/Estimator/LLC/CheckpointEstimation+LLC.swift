extension CheckpointEstimation {
    /// The checkpoint's local learning coefficient on its eval data under `settings`.
    /// CONTRACT STUB: the llc-core helper replaces this body.
    public func llc(_ settings: LLCSettings, threads: Int = WorkerPool.coreCount,
                    progress: (@Sendable (_ stepsDone: Int, _ stepsTotal: Int) -> Void)? = nil,
                    shouldStop: (@Sendable () -> Bool)? = nil) throws -> LLCEstimate {
        throw EstimatorError(code: "llc.unavailable", "the LLC is not implemented yet")
    }
}
