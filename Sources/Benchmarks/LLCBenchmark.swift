import Estimator

/// `volumed bench`'s LLC section: seconds per SGLD draw (wall seconds over chains × steps, the
/// chains on `threads` threads) on the digits and neox-tiny fixtures with devinterp's
/// hyperparameters from `fixtures/llc-reference.json`, beside devinterp's own.
public enum LLCBenchmark {
    public struct Row: Sendable {
        public let name: String
        public let checkpoint: String
        public let settings: LLCSettings
        /// Median over the repetitions.
        public let secondsPerDraw: Double
        public let llcMean: Double
        public let referenceSecondsPerDraw: Double?
        public var speedUp: Double? { referenceSecondsPerDraw.map { $0 / secondsPerDraw } }
    }

    /// The measured cases, with devinterp's hyperparameters where the reference has the case.
    public static let cases = [("digits-3000", "fixtures/digits/checkpoint-3000"), ("neox-tiny-60", "fixtures/neox-tiny/checkpoint-60")]

    /// `repository` is the source tree's root; `reference` nil: the default settings, no ratio.
    public static func run(repository: String, reference: LLCReference?, threads: Int, repetitions: Int = 3,
                           draws: Int? = nil) throws -> [Row] {
        try cases.map { name, checkpoint in
            let entry = reference?.find(name)
            var settings = entry?.settings ?? LLCSettings()
            if let draws { settings.draws = draws }
            let estimation = try CheckpointEstimation(path: repository + "/" + (entry?.checkpoint ?? checkpoint),
                                                      evalData: try entry.map { try evalSpec(repository + "/" + $0.eval) })
            var seconds: [Double] = []
            var llc: [Double] = []
            for seed in 0..<repetitions {
                settings.seed = UInt64(seed)
                let estimate = try estimation.llc(settings, threads: threads)
                seconds.append(estimate.secondsPerDraw)
                llc.append(estimate.mean)
            }
            seconds.sort()
            return Row(name: name, checkpoint: entry?.checkpoint ?? checkpoint, settings: settings,
                       secondsPerDraw: seconds[seconds.count / 2], llcMean: llc.reduce(0, +) / Double(llc.count),
                       referenceSecondsPerDraw: entry?.secondsPerDraw)
        }
    }

    static func evalSpec(_ file: String) throws -> EvalDataSpec {
        EvalDataSpec(form: try EvalDataSpec.form(ofFile: file), file: file)
    }
}
