import Estimator

/// Every preconditioner on one checkpoint over repeated seeds, side by side (paper §4.1): the
/// seed mean of the log volume, its spread, and what each costs. Larger is more accurate (the
/// estimator is a high-probability lower bound), so the best preconditioner has the largest mean.
public enum PreconditionerComparison {
    public struct Row: Sendable {
        public let preconditioner: PreconditionerSpec
        /// Seeds estimated (0 when skipped).
        public let seeds: Int
        public let meanLog10Volume: Double
        /// Sample standard deviation over seeds.
        public let sdLog10Volume: Double
        /// sd/√seeds.
        public let standardError: Double
        /// Mean wall time of one estimate (all its directions), curvature excluded.
        public let secondsPerEstimate: Double
        /// One-time cost of the preconditioner (curvature or moments), shared by the seeds.
        public let secondsPreconditioner: Double
        public let skipReason: String?
    }

    /// none, adam, adam-m, fisher, hessian with their default parameters.
    public static let preconditioners: [PreconditionerSpec] = PreconditionerSpec.Kind.allCases.map {
        try! PreconditionerSpec(kind: $0)
    }

    /// Runs seeds 0..<`seeds` of each preconditioner at one cutoff with `directions` directions.
    /// The checkpoint is loaded once, so curvature is computed once per preconditioner.
    public static func run(checkpointPath: String, seeds: Int = 10, threads: Int = WorkerPool.coreCount,
                           preconditioners: [PreconditionerSpec] = preconditioners,
                           cutoff: Double = 0.01, directions: Int = 100) throws -> [Row] {
        let overrides = EstimateOverrides(cutoffs: [cutoff], preconditioners: preconditioners, directions: directions)
        let estimation = try CheckpointEstimation(path: checkpointPath, overrides: overrides)
        return try preconditioners.map { spec in
            var log10Volumes: [Double] = []
            var seconds = 0.0, secondsPreconditioner = 0.0
            for seed in 0..<seeds {
                let outcome = try estimation.reseeded(UInt64(seed)).outcome(spec, cutoffs: [cutoff], threads: threads)
                switch outcome {
                case .skipped(_, let reason):
                    return Row(preconditioner: spec, seeds: 0, meanLog10Volume: .nan, sdLog10Volume: .nan,
                               standardError: .nan, secondsPerEstimate: .nan, secondsPreconditioner: .nan, skipReason: reason)
                case .estimated(let estimates):
                    let e = estimates[0]
                    log10Volumes.append(e.aggregate.log10Volume ?? .infinity)
                    seconds += e.seconds
                    secondsPreconditioner = e.secondsPreconditioner
                }
            }
            let n = Double(log10Volumes.count)
            let mean = log10Volumes.reduce(0, +) / n
            let sd = n > 1 ? (log10Volumes.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)).squareRoot() : .nan
            return Row(preconditioner: spec, seeds: log10Volumes.count, meanLog10Volume: mean, sdLog10Volume: sd,
                       standardError: sd / n.squareRoot(), secondsPerEstimate: seconds / n,
                       secondsPreconditioner: secondsPreconditioner, skipReason: nil)
        }
    }
}
