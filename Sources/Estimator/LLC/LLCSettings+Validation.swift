extension LLCSettings {
    /// Throws `llc.settings` for hyperparameters the sampler cannot run with.
    public func validate() throws(EstimatorError) {
        func check(_ ok: Bool, _ what: String) throws(EstimatorError) {
            guard ok else { throw EstimatorError(code: "llc.settings", what) }
        }
        try check(epsilon > 0 && epsilon.isFinite, "epsilon (the SGLD step size) must be a positive number, not \(epsilon)")
        try check(gamma >= 0 && gamma.isFinite, "gamma (the localization) must be 0 or more, not \(gamma)")
        if let nbeta { try check(nbeta > 0 && nbeta.isFinite, "nbeta (the inverse temperature) must be positive, not \(nbeta)") }
        try check(chains >= 1, "chains must be at least 1, not \(chains)")
        try check(draws >= 1, "draws must be at least 1, not \(draws)")
        try check(burnIn >= 0, "burn-in must be 0 or more, not \(burnIn)")
        try check(batchSize >= 1, "the batch size must be at least 1, not \(batchSize)")
        try check(chains < 1 << 31 && burnIn + draws < 1 << 32, "chains or steps beyond the random streams' range")
    }
}
