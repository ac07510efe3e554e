import Base
import Estimator

/// A job's plan (the `jobs.plan` column): the `EstimationInputs` the scheduler resolved for the
/// checkpoint, as JSON. The worker estimates exactly these and checks them against the files.
extension EstimationInputs {
    var jobJSON: JSONValue {
        func string(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func error(_ e: CheckpointError?) -> JSONValue {
            guard let e else { return .null }
            return .object(JSONObject([("code", .string(e.code)), ("file", string(e.file)), ("detail", .string(e.detail))]))
        }
        return .object(JSONObject([
            ("content_files", .array(contentFiles.map(JSONValue.string))),
            ("architecture", string(architecture)),
            ("activation", string(activation)),
            ("estimate", .object(JSONObject(plan.settingsJSON))),
            ("eval_file", string(evalData?.file)),
            ("eval_form", string(evalData?.form.rawValue)),
            ("sequence_length", evalData?.sequenceLength.map(JSONValue.int) ?? .null),
            ("sequences", evalData?.sequences.map(JSONValue.int) ?? .null),
            ("documents", string(evalData?.documents.map(EvalDataSpec.documentsText))),
            ("eval_fingerprint", string(evalFingerprint)),
            ("manifest_error", error(manifestError)),
            ("eval_error", error(evalError)),
        ]))
    }

    /// Reads a job's plan back (the database normalizes key order and spacing).
    init(jobJSON text: String) throws(JobSettingsError) {
        let object = try JobSettingsError.object(text, "plan")
        func fail(_ key: String) -> JobSettingsError { JobSettingsError(detail: "job plan: '\(key)' is missing or invalid") }
        func string(_ key: String) throws(JobSettingsError) -> String? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let string = value.stringValue else { throw fail(key) }
            return string
        }
        func error(_ key: String) throws(JobSettingsError) -> CheckpointError? {
            guard let value = object[key], !value.isNull else { return nil }
            guard let code = value["code"]?.stringValue, let detail = value["detail"]?.stringValue else { throw fail(key) }
            return CheckpointError(code, file: value["file"]?.stringValue, detail)
        }
        guard let files = object["content_files"]?.arrayValue?.compactMap(\.stringValue) else { throw fail("content_files") }
        guard let estimate = object["estimate"]?.objectValue else { throw fail("estimate") }
        let plan: EstimationPlan
        do { plan = try EstimationPlan(settingsJSON: estimate) } catch {
            throw JobSettingsError(detail: "job plan: estimate.\(error)")
        }
        self.init(
            contentFiles: files, architecture: try string("architecture"), activation: try string("activation"), plan: plan,
            evalData: try Self.evalData(object, string), evalFingerprint: try string("eval_fingerprint"),
            manifestError: try error("manifest_error"), evalError: try error("eval_error"))
    }

    /// The plan's eval data; plans written before text and token files name only a
    /// safetensors `eval_file`.
    private static func evalData(
        _ object: JSONObject, _ string: (String) throws(JobSettingsError) -> String?
    ) throws(JobSettingsError) -> EvalDataSpec? {
        guard let file = try string("eval_file") else { return nil }
        func fail(_ key: String) -> JobSettingsError { JobSettingsError(detail: "job plan: '\(key)' is missing or invalid") }
        var spec = EvalDataSpec(form: .tensors, file: file)
        if let form = try string("eval_form") {
            guard let known = EvalDataSpec.Form(rawValue: form) else { throw fail("eval_form") }
            spec.form = known
        }
        for (key, path) in [("sequence_length", \EvalDataSpec.sequenceLength), ("sequences", \EvalDataSpec.sequences)] {
            guard let value = object[key], !value.isNull else { continue }
            guard let n = value.intValue, n >= 1 else { throw fail(key) }
            spec[keyPath: path] = n
        }
        if let documents = try string("documents") {
            guard let range = EvalDataSpec.documentRange(documents) else { throw fail("documents") }
            spec.documents = range
        }
        return spec
    }
}
