import Base

/// A Hugging Face `config.json`, read key by key with errors that name the file and the key.
/// A key that is absent or `null` takes the architecture's default, as transformers does.
struct ModelConfig: Sendable {
    let json: JSONValue
    /// The file, for messages.
    let source: String

    init(_ json: JSONValue, source: String) {
        self.json = json
        self.source = source
    }

    func fail(_ detail: String) -> EstimatorError {
        EstimatorError(code: "model.config", "\(source): \(detail)")
    }

    func unsupported(_ detail: String) -> EstimatorError {
        EstimatorError(code: "model.unsupported", "\(source): \(detail)")
    }

    /// The value at `key`, treating `null` as absent.
    func value(_ key: String, in object: JSONValue? = nil) -> JSONValue? {
        guard let v = (object ?? json)[key], !v.isNull else { return nil }
        return v
    }

    /// A positive integer (also accepted written as `64.0`).
    func positiveInt(_ key: String, default fallback: Int? = nil) throws(EstimatorError) -> Int {
        guard let v = value(key) else {
            if let fallback { return fallback }
            throw fail("'\(key)' is missing")
        }
        let number = v.intValue ?? v.doubleValue.flatMap { $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil }
        guard let n = number, n > 0 else {
            throw fail("'\(key)' must be a positive integer, found \(v.serialized())")
        }
        return n
    }

    /// A positive, finite number.
    func positiveDouble(_ key: String, in object: JSONValue? = nil, default fallback: Double? = nil) throws(EstimatorError) -> Double {
        guard let v = value(key, in: object) else {
            if let fallback { return fallback }
            throw fail("'\(key)' is missing")
        }
        guard let d = v.doubleValue, d.isFinite, d > 0 else {
            throw fail("'\(key)' must be a positive number, found \(v.serialized())")
        }
        return d
    }

    /// A finite number, or nil when absent.
    func number(_ key: String, in object: JSONValue? = nil) throws(EstimatorError) -> Double? {
        guard let v = value(key, in: object) else { return nil }
        guard let d = v.doubleValue, d.isFinite else { throw fail("'\(key)' must be a number, found \(v.serialized())") }
        return d
    }

    func bool(_ key: String, default fallback: Bool) throws(EstimatorError) -> Bool {
        guard let v = value(key) else { return fallback }
        guard let b = v.boolValue else { throw fail("'\(key)' must be true or false, found \(v.serialized())") }
        return b
    }

    func string(_ key: String, in object: JSONValue? = nil, default fallback: String) throws(EstimatorError) -> String {
        guard let v = value(key, in: object) else { return fallback }
        guard let s = v.stringValue else { throw fail("'\(key)' must be a string, found \(v.serialized())") }
        return s
    }

    /// `hidden_act` / `activation_function` as an `Activation`.
    func activation(_ key: String, default fallback: String) throws(EstimatorError) -> Activation {
        let name = try string(key, default: fallback)
        guard let activation = Activation(name: name) else {
            throw EstimatorError(code: "model.unknown_activation",
                             "\(source): '\(key)' is '\(name)', which is not supported (known: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")), gelu_new, gelu_pytorch_tanh, gelu_fast, swish)")
        }
        return activation
    }

    /// Rotary settings from `rope_parameters` (transformers 5) or the older top-level keys.
    /// `legacyFraction` / `legacyBase` name an architecture's old keys (`rotary_pct`,
    /// `rotary_emb_base`); only the default (unscaled) rotary embedding is supported.
    func rotary(headDim: Int, defaultFraction: Double, legacyFraction: String?, legacyBase: String?) throws(EstimatorError) -> RotaryEmbedding {
        let parameters = value("rope_parameters")
        if let parameters, parameters.objectValue == nil {
            throw fail("'rope_parameters' must be an object, found \(parameters.serialized())")
        }
        for (label, object) in [("rope_parameters", parameters), ("rope_scaling", value("rope_scaling"))] {
            guard let object else { continue }
            guard object.objectValue != nil else { throw fail("'\(label)' must be an object, found \(object.serialized())") }
            let type = try string("rope_type", in: object, default: try string("type", in: object, default: "default"))
            guard type == "default" else {
                throw unsupported("\(label) has rope_type '\(type)'; only the default rotary embedding is supported")
            }
        }
        // The same setting may be written in several places; they must agree.
        func pick(_ newKey: String, _ oldKey: String?) throws(EstimatorError) -> Double? {
            var given: [(key: String, value: Double)] = []
            if let parameters, let v = try number(newKey, in: parameters) { given.append(("rope_parameters." + newKey, v)) }
            if let v = try number(newKey) { given.append((newKey, v)) }
            if let oldKey, let v = try number(oldKey) { given.append((oldKey, v)) }
            if let first = given.first, let other = given.dropFirst().first(where: { $0.value != first.value }) {
                throw fail("'\(first.key)' = \(first.value) contradicts '\(other.key)' = \(other.value)")
            }
            return given.first?.value
        }
        let fraction = try pick("partial_rotary_factor", legacyFraction) ?? defaultFraction
        let base = try pick("rope_theta", legacyBase) ?? 10_000
        guard fraction >= 0, fraction <= 1 else { throw fail("partial rotary factor \(fraction) is not in [0, 1]") }
        guard base > 0 else { throw fail("rope_theta \(base) must be positive") }
        // transformers: rotary_ndims = int(head_dim × fraction).
        let dims = Int(Double(headDim) * fraction)
        guard dims % 2 == 0 else {
            throw unsupported("rotary dimension \(dims) (head size \(headDim) × \(fraction)) is odd")
        }
        return RotaryEmbedding(dimensions: dims, base: base)
    }
}

extension EstimatorError {
    static func noConfig(_ folder: String, _ architecture: String) -> EstimatorError {
        EstimatorError(code: "model.config", "\(folder): architecture '\(architecture)' needs the checkpoint's config.json, and there is none")
    }
}
