import Base
import Hashing
import Estimator

/// What a job computes for its checkpoint: the estimation plan (the daemon's `[estimate]`
/// with the run's `volume.toml` laid over it) and the eval data's fingerprint. Stored as JSON
/// on the job; its SHA-256 is the job's settings key, so re-seeing the same checkpoint under the
/// same settings enqueues nothing, and new settings (a reload) make a new job that computes only
/// the missing rows. The settings are written and read by `EstimateSetting`, the codec of every
/// `[estimate]`; the text must stay the same for the same settings.
struct JobSettings: Equatable, Sendable {
    var plan: EstimationPlan
    /// SHA-256 of the eval file the scheduler found, or nil when it could not be read (the
    /// worker then reports why).
    var evalFingerprint: String?

    var json: JSONValue {
        .object(JSONObject(plan.settingsJSON + [("eval_fingerprint", evalFingerprint.map(JSONValue.string) ?? .null)]))
    }

    /// Hex SHA-256 of the compact JSON (keys in `EstimateSetting` order, then the eval's).
    var key: String { SHA256.hexDigest(Array(json.serialized().utf8)) }

    init(plan: EstimationPlan, evalFingerprint: String?) {
        self.plan = plan
        self.evalFingerprint = evalFingerprint
    }

    /// The settings the inputs resolve to.
    init(_ inputs: EstimationInputs) {
        self.init(plan: inputs.plan, evalFingerprint: inputs.evalFingerprint)
    }

    /// Reads the JSON back (the database normalizes key order and spacing).
    init(text: String) throws(JobSettingsError) {
        let object = try JobSettingsError.object(text, "settings")
        do {
            plan = try EstimationPlan(settingsJSON: object)
        } catch {
            throw JobSettingsError(detail: "job settings: \(error)")
        }
        evalFingerprint = object["eval_fingerprint"]?.stringValue
    }
}

struct JobSettingsError: CodedError {
    let detail: String
    var code: String { "job.settings" }
    var description: String { detail }

    /// `text` parsed as a JSON object; `what` names it in errors.
    static func object(_ text: String, _ what: String) throws(JobSettingsError) -> JSONObject {
        let value: JSONValue
        do { value = try JSONValue.parse(text) } catch {
            throw JobSettingsError(detail: "job \(what): \(error)")
        }
        guard let object = value.objectValue else { throw JobSettingsError(detail: "job \(what) are not a JSON object") }
        return object
    }
}
