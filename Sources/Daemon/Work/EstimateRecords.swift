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
            directions: settings.directions, seed: Int64(bitPattern: settings.seed), tolerance: settings.tolerance)
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

enum VolumedVersion {
    static let current = "0.1.0"
}
