import Base
import Estimator
import Hashing

/// What an LLC job computes: the LLC settings (the daemon's `[llc]` with the run's laid over
/// it) and the eval data's fingerprint, stored as the job's settings JSON. `"measure": "llc"`
/// comes first: volume settings never carry it, so an LLC job's key never equals a volume job's.
struct LLCJobSettings: Equatable, Sendable {
    var settings: LLCSettings
    var evalFingerprint: String?

    var json: JSONValue {
        .object(JSONObject([("measure", .string("llc"))] + settings.settingsJSON
                           + [("eval_fingerprint", evalFingerprint.map(JSONValue.string) ?? .null)]))
    }

    /// The job's settings key: hex SHA-256 of the compact JSON.
    var key: String { SHA256.hexDigest(Array(json.serialized().utf8)) }

    /// The estimate's settings key (`llc_estimates.settings_key`): hex SHA-256 of the LLC
    /// settings alone; the eval data is a column of the identity of its own.
    var estimateKey: String { Self.estimateKey(settings) }

    static func estimateKey(_ settings: LLCSettings) -> String {
        SHA256.hexDigest(Array(JSONValue.object(JSONObject(settings.settingsJSON)).serialized().utf8))
    }

    init(settings: LLCSettings, evalFingerprint: String?) {
        self.settings = settings
        self.evalFingerprint = evalFingerprint
    }

    /// Reads the JSON back (the database normalizes key order and spacing).
    init(text: String) throws(JobSettingsError) {
        let object = try JobSettingsError.object(text, "settings")
        guard object["measure"]?.stringValue == "llc" else { throw JobSettingsError(detail: "job settings: not an LLC job's") }
        do {
            settings = try LLCSettings(settingsJSON: object)
        } catch {
            throw JobSettingsError(detail: "job settings: \(error)")
        }
        evalFingerprint = object["eval_fingerprint"]?.stringValue
    }
}
