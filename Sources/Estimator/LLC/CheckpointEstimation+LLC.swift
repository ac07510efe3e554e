extension CheckpointEstimation {
    /// The checkpoint's local learning coefficient on its eval data under `settings`: localized
    /// SGLD from the checkpoint (`LLCSampler`), the loss the mean cross-entropy against the eval
    /// file's `labels` (MLP) or of the next token (language models). `progress(stepsDone,
    /// stepsTotal)` counts SGLD steps over all chains; `shouldStop` is polled every step.
    public func llc(_ settings: LLCSettings, threads: Int = WorkerPool.coreCount,
                    progress: (@Sendable (_ stepsDone: Int, _ stepsTotal: Int) -> Void)? = nil,
                    shouldStop: (@Sendable () -> Bool)? = nil) throws -> LLCEstimate {
        try settings.validate()
        let selection = settings.parameters.isEmpty ? nil : try ParameterSelection(patterns: settings.parameters, layout: model.layout)
        switch model {
        case let mlp as MLP:
            let loss = try MLPCrossEntropy<Float>(model: mlp, inputs: try mlp.features(eval.data), labels: eval.labels, file: eval.path)
            return try LLCSampler(loss: loss, anchor: mlp.anchor, settings: settings, selection: selection)
                .run(threads: threads, progress: progress, shouldStop: shouldStop)
        case let lm as LanguageModel:
            let loss = try LanguageModelCrossEntropy<Float>(model: lm, tokens: try lm.tokenContext(eval.data))
            return try LLCSampler(loss: loss, anchor: lm.anchor, settings: settings, selection: selection)
                .run(threads: threads, progress: progress, shouldStop: shouldStop)
        default:
            throw EstimatorError(code: "llc.architecture", "the LLC needs a loss gradient, which the \(model.architecture) model does not have")
        }
    }
}
