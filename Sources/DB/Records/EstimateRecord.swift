import Base
/// One row of `estimates` as the daemon hands it to `JobQueue.complete`: the key, the
/// resolved σ, the software version, and either the computed result or why the
/// preconditioner was skipped. Its columns are listed once, in `columnNames` and `parameters`
/// here and in `EstimateKey.columns` and `EstimateResult.columns`.
public struct EstimateRecord: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case computed(EstimateResult)
        /// E.g. `no optimizer state (optimizer.pt missing)`; must not be empty.
        case skipped(reason: String)
    }

    public var key: EstimateKey
    /// The σ the rule resolved to (nil if it could not be resolved, e.g. skipped early).
    public var sigma: Double?
    public var softwareVersion: String
    /// What the eval data was (`EvalProvenance.json` as text: form, file, tokenizer, EOS,
    /// packing, rows), stored as `eval_data` jsonb; nil for estimates stored before it was kept.
    public var evalData: String?
    public var outcome: Outcome

    public init(key: EstimateKey, sigma: Double?, softwareVersion: String, evalData: String? = nil, outcome: Outcome) {
        self.key = key
        self.sigma = sigma
        self.softwareVersion = softwareVersion
        self.evalData = evalData
        self.outcome = outcome
    }
}

/// The numbers of a computed estimate, named as in the CLI's JSON. `logVolume`,
/// `log10Volume`, `bits`, `ess` and the interval are nil exactly when the volume is infinite
/// (uniform measure with unbounded directions, `unbounded > 0`).
public struct EstimateResult: Sendable, Equatable {
    public var logVolume: Double?
    public var log10Volume: Double?
    public var bits: Double?
    public var maxSample: Double
    public var ess: Double?
    /// 95% bootstrap interval of `logVolume` (nats).
    public var intervalLow: Double?
    public var intervalHigh: Double?
    public var klEvaluations: Int64
    public var unbounded: Int
    public var nonfinite: Int
    public var seconds: Double
    public var secondsPreconditioner: Double?
    /// Relative standard error of a Monte-Carlo preconditioner (Fisher of a language model).
    public var preconditionerRelativeStandardError: Double?
    public var samples: [SampleRecord]

    public init(
        logVolume: Double?, log10Volume: Double?, bits: Double?, maxSample: Double, ess: Double?,
        intervalLow: Double?, intervalHigh: Double?, klEvaluations: Int64, unbounded: Int,
        nonfinite: Int, seconds: Double, secondsPreconditioner: Double?,
        preconditionerRelativeStandardError: Double? = nil, samples: [SampleRecord]
    ) {
        self.logVolume = logVolume
        self.log10Volume = log10Volume
        self.bits = bits
        self.maxSample = maxSample
        self.ess = ess
        self.intervalLow = intervalLow
        self.intervalHigh = intervalHigh
        self.klEvaluations = klEvaluations
        self.unbounded = unbounded
        self.nonfinite = nonfinite
        self.seconds = seconds
        self.secondsPreconditioner = secondsPreconditioner
        self.preconditionerRelativeStandardError = preconditionerRelativeStandardError
        self.samples = samples
    }
}

extension EstimateRecord {
    /// The `estimates` columns a record fills, in the order of `parameters`: the key, σ, the
    /// software version, the eval data's provenance, why it was skipped, and the result's
    /// numbers (all NULL when skipped).
    static var columnNames: [String] {
        EstimateKey.columns.map(\.name) + ["sigma", "software_version", "eval_data", "skipped"] + EstimateResult.columns.map(\.name)
    }

    /// The record's values for `columnNames`.
    var parameters: [any PostgresEncodable] {
        let values: [any PostgresEncodable] = EstimateKey.columns.values(of: key) + [sigma, softwareVersion, evalData]
        switch outcome {
        case .computed(let result):
            return values + [String?.none] + EstimateResult.columns.values(of: result)
        case .skipped(let reason):
            return values + [reason] + EstimateResult.columns.map { _ in String?.none }
        }
    }

    /// Reads the record from a row holding `columnNames`.
    init(row: Row, samples: [SampleRecord]) throws {
        let outcome: Outcome
        if let reason = try row.decode(String?.self, column: "skipped") {
            outcome = .skipped(reason: reason)
        } else {
            let blank = EstimateResult(
                logVolume: nil, log10Volume: nil, bits: nil, maxSample: 0, ess: nil, intervalLow: nil, intervalHigh: nil,
                klEvaluations: 0, unbounded: 0, nonfinite: 0, seconds: 0, secondsPreconditioner: nil, samples: samples)
            outcome = .computed(try EstimateResult.columns.read(row, into: blank))
        }
        self.init(
            key: try EstimateKey(row: row),
            sigma: try row.decode(Double?.self, column: "sigma"),
            softwareVersion: try row.decode(String.self, column: "software_version"),
            evalData: try row.decode(String?.self, column: "eval_data"),
            outcome: outcome)
    }
}

extension EstimateResult {
    /// The result's columns of `estimates`. A new one is a property here, a line in this list
    /// and a migration.
    static let columns: [RecordColumn<EstimateResult>] = [
        RecordColumn("log_volume", \.logVolume),
        RecordColumn("log10_volume", \.log10Volume),
        RecordColumn("bits", \.bits),
        RecordColumn("max_sample", \.maxSample),
        RecordColumn("ess", \.ess),
        RecordColumn("interval_low", \.intervalLow),
        RecordColumn("interval_high", \.intervalHigh),
        RecordColumn("kl_evaluations", \.klEvaluations),
        RecordColumn("unbounded", \.unbounded),
        RecordColumn("nonfinite", \.nonfinite),
        RecordColumn("seconds", \.seconds),
        RecordColumn("seconds_preconditioner", \.secondsPreconditioner),
        RecordColumn("preconditioner_rse", \.preconditionerRelativeStandardError),
    ]
}
