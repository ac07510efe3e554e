import Base
import DB
import Estimator

/// Maps the estimator's results onto the database's rows (docs/storage.md, "Estimates": the estimate key).
enum EstimateRecords {
    static let softwareVersion = VolumedVersion.current

    static func key(_ spec: PreconditionerSpec, cutoff: Double, settings: EstimateSettings, evalFingerprint: String) -> EstimateKey {
        EstimateKey(
            evalFingerprint: evalFingerprint, cutoff: cutoff, preconditioner: spec.name,
            preconditionerParams: spec.parameterText, prior: settings.prior.rawValue,
            priorCenter: settings.priorCenter.rawValue, sigmaRule: settings.sigma.description,
            directions: settings.directions, seed: Int64(bitPattern: settings.seed), tolerance: settings.tolerance,
            neighbourhood: settings.neighbourhood.rawValue, parameters: ParameterSelection.canonical(settings.parameters).joined(separator: " "))
    }

    /// Rows for one preconditioner's outcome at `cutoffs`: one per cutoff, computed or skipped.
    static func records(_ outcome: PreconditionerOutcome, cutoffs: [Double], settings: EstimateSettings,
                        eval: EvalProvenance) -> [EstimateRecord] {
        let evalFingerprint = eval.fingerprint
        let evalData = eval.json.serialized()
        switch outcome {
        case .skipped(let spec, let reason):
            return cutoffs.map { cutoff in
                EstimateRecord(key: key(spec, cutoff: cutoff, settings: settings, evalFingerprint: evalFingerprint),
                               sigma: nil, softwareVersion: softwareVersion, evalData: evalData, outcome: .skipped(reason: reason))
            }
        case .estimated(let estimates):
            return estimates.map { e in
                let a = e.aggregate
                let result = EstimateResult(
                    logVolume: a.logVolume, log10Volume: a.log10Volume, bits: a.bits, maxSample: a.maxSample,
                    ess: a.ess, intervalLow: a.interval?.low, intervalHigh: a.interval?.high,
                    klEvaluations: Int64(e.klEvaluations), unbounded: e.unbounded, nonfinite: e.nonfinite,
                    seconds: e.seconds, secondsPreconditioner: e.secondsPreconditioner,
                    preconditionerRelativeStandardError: e.preconditionerRelativeStandardError,
                    samples: e.samples.map {
                        SampleRecord(direction: $0.direction, radius: $0.radius, logEstimate: $0.logEstimate,
                                     klEvaluations: $0.klEvaluations)
                    })
                return EstimateRecord(
                    key: key(e.preconditioner, cutoff: e.cutoff, settings: settings, evalFingerprint: evalFingerprint),
                    sigma: e.sigma, softwareVersion: softwareVersion, evalData: evalData, outcome: .computed(result))
            }
        }
    }
}

extension EstimateRecords {
    /// The estimate rows from every shard's results, merged (`JobQueue.complete`): each computed
    /// preconditioner's k directions aggregated as `VolumeEstimator.estimate` would, each skipped
    /// one's reason, at all the plan's cutoffs. Its preconditioners were prepared in this process
    /// (the finishing shard computed them).
    static func aggregate(_ results: [ShardResult], _ loaded: LoadedEstimation, threads: Int) throws -> [EstimateRecord] {
        let estimation = loaded.estimation
        let plan = estimation.plan
        let settings = plan.settings
        let estimator = try estimation.volumeEstimator(settings: settings, threads: threads)
        var records: [EstimateRecord] = []
        for result in results {
            guard let spec = plan.preconditioners.first(where: { $0.name == result.preconditioner && $0.parameterText == result.preconditionerParams }) else {
                throw ShardError("the shards computed \(result.preconditionerName), which the plan does not hold")
            }
            switch result.outcome {
            case .skipped(let reason):
                records += Self.records(.skipped(spec, reason: reason), cutoffs: settings.cutoffs, settings: settings,
                                        eval: estimation.eval.provenance)
            case .computed(let seconds, let directions):
                guard case .ready(let preconditioner, _, _) = loaded.preparedPreconditioner(spec) else {
                    throw ShardError("\(spec) was not prepared in the process finishing its estimate")
                }
                guard directions.map(\.direction) == Array(0..<settings.directions),
                      directions.allSatisfy({ $0.samples.map(\.cutoff) == settings.cutoffs }) else {
                    throw ShardError("the shards of \(spec) hold directions \(directions.map(\.direction)) at cutoffs other than 0..<\(settings.directions) at \(settings.cutoffs)")
                }
                let outcomes = directions.map { direction in
                    DirectionOutcome(
                        direction: direction.direction,
                        samples: direction.samples.map {
                            DirectionSample(direction: direction.direction, radius: $0.radius, logEstimate: $0.logEstimate,
                                            klEvaluations: $0.klEvaluations)
                        },
                        nonfinite: direction.nonfinite, exponent: direction.exponent)
                }
                let estimates = estimator.estimates(preconditioner: preconditioner, outcomes: outcomes, seconds: seconds)
                records += Self.records(.estimated(estimates), cutoffs: settings.cutoffs, settings: settings,
                                        eval: estimation.eval.provenance)
            }
        }
        return records
    }
}

extension ShardDirection {
    /// A direction's outcome with its samples' cutoffs (`cutoffs`: the settings' order).
    init(_ outcome: DirectionOutcome, cutoffs: [Double]) {
        self.init(direction: outcome.direction,
                  samples: zip(cutoffs, outcome.samples).map {
                      ShardSample(cutoff: $0, radius: $1.radius, logEstimate: $1.logEstimate, klEvaluations: $1.klEvaluations)
                  },
                  nonfinite: outcome.nonfinite, exponent: outcome.exponent)
    }
}

/// A shard's results that cannot be aggregated (never expected: a bug or a tampered table).
struct ShardError: CodedError {
    let detail: String
    init(_ detail: String) { self.detail = detail }
    var code: String { "job.shards" }
    var description: String { detail }
}

enum VolumedVersion {
    static let current = "0.1.0"
}
