import Base
import Hashing
import Estimator

/// What a job computes for its checkpoint: the estimation plan (the daemon's `[estimate]`
/// with the run's `volume.toml` laid over it) and the eval data's fingerprint. Stored as JSON
/// on the job; its SHA-256 is the job's settings key, so re-seeing the same checkpoint under the
/// same settings enqueues nothing, and new settings (a reload) make a new job that computes only
/// the missing rows.
struct JobSettings: Equatable, Sendable {
    var plan: EstimationPlan
    /// SHA-256 of the eval file the scheduler found, or nil when it could not be read (the
    /// worker then reports why).
    var evalFingerprint: String?

    var json: JSONValue {
        let s = plan.settings
        return .object(JSONObject([
            ("cutoffs", .array(s.cutoffs.map(JSONValue.double))),
            ("preconditioners", .array(plan.preconditioners.map { .string($0.description) })),
            ("prior", .string(s.prior.rawValue)),
            ("prior_center", .string(s.priorCenter.rawValue)),
            ("sigma", .string(s.sigma.description)),
            ("directions", .int(s.directions)),
            ("seed", .number(String(s.seed))),
            ("tolerance", .double(s.tolerance)),
            ("eval_fingerprint", evalFingerprint.map(JSONValue.string) ?? .null),
        ]))
    }

    /// Hex SHA-256 of the compact JSON (keys in the fixed order above).
    var key: String { SHA256.hexDigest(Array(json.serialized().utf8)) }

    init(plan: EstimationPlan, evalFingerprint: String?) {
        self.plan = plan
        self.evalFingerprint = evalFingerprint
    }

    /// Reads the JSON back (the database normalizes key order and spacing).
    init(text: String) throws {
        let v = try JSONValue.parse(text)
        func field<T>(_ name: String, _ read: (JSONValue) -> T?) throws -> T {
            guard let value = v[name], let t = read(value) else {
                throw JobSettingsError(detail: "job settings lack a valid '\(name)'")
            }
            return t
        }
        var settings = EstimateSettings()
        settings.cutoffs = try field("cutoffs") { $0.arrayValue?.compactMap(\.doubleValue) }
        settings.prior = try field("prior") { $0.stringValue.flatMap(EstimateSettings.Prior.init(rawValue:)) }
        settings.priorCenter = try field("prior_center") { $0.stringValue.flatMap(EstimateSettings.PriorCenter.init(rawValue:)) }
        settings.sigma = try field("sigma") { $0.stringValue.flatMap(EstimateSettings.SigmaRule.init) }
        settings.directions = try field("directions") { $0.intValue }
        settings.seed = try field("seed") { $0.intValue.flatMap { UInt64(exactly: $0) } }
        settings.tolerance = try field("tolerance") { $0.doubleValue }
        let names: [String] = try field("preconditioners") { $0.arrayValue?.compactMap(\.stringValue) }
        let specs = try names.map { try PreconditionerSpec(parsing: $0) }
        plan = EstimationPlan(settings: settings, preconditioners: specs)
        evalFingerprint = v["eval_fingerprint"]?.stringValue
    }
}

struct JobSettingsError: CodedError {
    let detail: String
    var code: String { "job.settings" }
    var description: String { detail }
}
