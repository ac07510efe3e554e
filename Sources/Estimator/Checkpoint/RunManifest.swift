import Base
/// A run's `volume.toml`:
///
/// ```toml
/// [model]
/// architecture = "mlp"      # or gpt_neox, gpt2, llama (else config.json decides)
/// activation = "relu"
/// [data]
/// eval = "digits_val.safetensors"   # relative to the run folder; or text = "eval.txt"
///                                   # (tokenized), or tokens = "eval.npy" (token ids), with
///                                   # sequence_length, sequences and documents = "0:20"
/// [estimate]                # any of: cutoffs, preconditioners, prior, prior_center,
/// cutoffs = [0.01, 0.1]     # sigma ("rms" or a number), directions, seed, tolerance
/// [llc]                     # enabled, epsilon, gamma, nbeta, chains, draws, burn_in,
/// enabled = true            # batch_size, seed, params (`LLCOverrides`)
/// ```
///
/// Unknown tables and keys are errors (a typo must not silently fall back to a default).
public struct RunManifest: Sendable, Equatable {
    public static let fileName = "volume.toml"

    public var architecture: String?
    public var activation: String?
    /// `[data]`: the eval data, its file relative to the run folder.
    public var evalData: EvalDataSpec?
    public var estimate: EstimateOverrides
    /// `[llc]`, laid over the daemon's (`LLCOverrides`).
    public var llc = LLCOverrides()

    public init(architecture: String? = nil, activation: String? = nil, evalData: EvalDataSpec? = nil, estimate: EstimateOverrides = EstimateOverrides()) {
        self.architecture = architecture
        self.activation = activation
        self.evalData = evalData
        self.estimate = estimate
    }

    public init(path: String) throws(CheckpointError) {
        let bytes = try FileSystem.read(path, limit: 1 << 20)
        guard let text = String(validating: bytes, as: UTF8.self), !bytes.contains(0) else {
            throw CheckpointError("manifest.syntax", file: path, "file is not UTF-8 text")
        }
        try self.init(text: text, source: path)
    }

    public init(text: String, source: String) throws(CheckpointError) {
        let root: TOMLTable
        do {
            root = try TOMLDocument.parse(text)
        } catch {
            throw CheckpointError("manifest.syntax", file: source, "line \(error.line), column \(error.column): \(error.message)")
        }
        do {
            try self.init(SettingsTable(root))
        } catch {
            let code = if case .unknownKey = error.reason { "manifest.unknown_key" } else { "manifest.bad_value" }
            throw CheckpointError(code, file: source, error.description)
        }
    }

    /// Reads the tables in the file's order, so that the first problem in the file is the one reported.
    private init(_ root: SettingsTable) throws(SettingError) {
        self.init()
        for key in root.table.keys {
            switch key {
            case "model":
                guard let model = try root.subtable(key) else { continue }
                for k in model.table.keys {
                    switch k {
                    case "architecture": architecture = try model.name(k)
                    case "activation": activation = try model.name(k)
                    default: throw model.unknown(k, known: ["architecture", "activation"])
                    }
                }
            case "data":
                guard let data = try root.subtable(key) else { continue }
                evalData = try Self.evalData(data)
            case "estimate":
                guard let table = try root.subtable(key) else { continue }
                estimate = try EstimateOverrides(table: table)
            case "llc":
                guard let table = try root.subtable(key) else { continue }
                llc = try LLCOverrides(table: table)
            default:
                throw root.unknown(key, known: ["model", "data", "estimate", "llc"])
            }
        }
    }
}

extension RunManifest {
    private static let dataKeys = ["eval", "text", "tokens", "sequence_length", "sequences", "documents"]

    /// `[data]`: one of `eval`, `text`, `tokens`, and for the last two the packing.
    private static func evalData(_ data: SettingsTable) throws(SettingError) -> EvalDataSpec? {
        var spec: EvalDataSpec?
        var packingKey: String?
        var sequenceLength: Int?, sequences: Int?, documents: Range<Int>?
        for k in data.table.keys {
            switch k {
            case "eval", "text", "tokens":
                guard let file = try data.relativePath(k) else { continue }
                if let spec {
                    throw data.invalid(k, "cannot be given together with '\(spec.form.manifestKey)': name one eval data source")
                }
                spec = EvalDataSpec(form: k == "eval" ? .tensors : k == "text" ? .text : .tokens, file: file)
            case "sequence_length":
                sequenceLength = try data.positiveInteger(k)
                packingKey = k
            case "sequences":
                sequences = try data.positiveInteger(k)
                packingKey = k
            case "documents":
                guard let text = try data.string(k) else { continue }
                guard let range = EvalDataSpec.documentRange(text) else {
                    throw data.invalid(k, "must be \"FIRST:END\" document indices with 0 ≤ FIRST < END, got \"\(text)\"")
                }
                documents = range
                packingKey = k
            default:
                throw data.unknown(k, known: dataKeys)
            }
        }
        guard var spec else {
            if let packingKey { throw data.invalid(packingKey, "needs 'text' or 'tokens' in [data]") }
            return nil
        }
        if spec.form == .tensors, let packingKey {
            throw data.invalid(packingKey, "applies to 'text' and 'tokens' data, not to a safetensors 'eval' file, which is used as it is")
        }
        spec.sequenceLength = sequenceLength
        spec.sequences = sequences
        spec.documents = documents
        return spec
    }
}

extension SettingsTable {
    /// A whole number ≥ 1.
    fileprivate func positiveInteger(_ key: String) throws(SettingError) -> Int? {
        guard let n = try integer(key) else { return nil }
        guard n >= 1 else { throw invalid(key, "must be at least 1, got \(n)") }
        return n
    }

    /// A non-empty string.
    fileprivate func name(_ key: String) throws(SettingError) -> String? {
        guard let name = try string(key) else { return nil }
        guard !name.isEmpty else { throw invalid(key, "must not be empty") }
        return name
    }

    /// A path inside the run folder.
    fileprivate func relativePath(_ key: String) throws(SettingError) -> String? {
        guard let path = try name(key) else { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !parts.contains(".."), !parts.contains("") else {
            throw invalid(key, "must be a file name inside the run folder, got \"\(path)\"")
        }
        return path
    }
}
