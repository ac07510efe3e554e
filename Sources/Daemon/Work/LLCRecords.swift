import DB
import Estimator

/// Maps the estimator's `LLCEstimate` onto the `llc_estimates` row (docs/storage.md, "LLC estimates").
enum LLCRecords {
    /// `evalData`: the eval data's provenance (`EvalProvenance.json`) as text.
    static func record(_ estimate: LLCEstimate, evalFingerprint: String, evalData: String?) -> LLCRecord {
        let settings = estimate.settings
        return LLCRecord(
            evalFingerprint: evalFingerprint, evalData: evalData,
            settingsKey: LLCJobSettings.estimateKey(settings), parameters: settings.parameters.joined(separator: " "),
            epsilon: settings.epsilon, gamma: settings.gamma, nbeta: estimate.nbeta, nbetaRule: settings.nbetaRule,
            draws: settings.draws, burnIn: settings.burnIn, batchSize: estimate.batchSize,
            seed: Int64(bitPattern: settings.seed), dimension: estimate.dimension, initLoss: estimate.initLoss,
            mean: estimate.mean, standardDeviation: estimate.standardDeviation, seconds: estimate.seconds,
            secondsPerDraw: estimate.secondsPerDraw, softwareVersion: EstimateRecords.softwareVersion,
            chains: estimate.chains.map { chain in
                LLCRecord.Chain(llc: chain.llc, losses: chain.losses, flatAfterBurnIn: chain.flatAfterBurnIn,
                                divergence: chain.divergence.map {
                                    LLCRecord.Chain.Divergence(step: $0.step, kind: $0.kind.rawValue, loss: $0.loss)
                                })
            })
    }
}
