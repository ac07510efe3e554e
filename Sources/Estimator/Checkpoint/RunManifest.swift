import Base
/// A run's `volume.toml`:
///
/// ```toml
/// [model]
/// architecture = "mlp"      # or gpt_neox, gpt2, llama (else config.json decides)
/// activation = "relu"
/// [data]
/// eval = "digits_val.safetensors"   # relative to the run folder
/// [estimate]                # any of: cutoffs, preconditioners, prior, prior_center,
/// cutoffs = [0.01, 0.1]     # sigma ("rms" or a number), directions, seed, tolerance
/// ```
///
/// Unknown tables and keys are errors (a typo must not silently fall back to a default).
public struct RunManifest: Sendable, Equatable {
    public static let fileName = "volume.toml"

    public var architecture: String?
    public var activation: String?
    /// The eval data file, relative to the run folder.
    public var evalFile: String?
    public var estimate: EstimateOverrides

    public init(architecture: String? = nil, activation: String? = nil, evalFile: String? = nil, estimate: EstimateOverrides = EstimateOverrides()) {
        self.architecture = architecture
        self.activation = activation
        self.evalFile = evalFile
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
                for k in data.table.keys {
                    switch k {
                    case "eval": evalFile = try data.relativePath(k)
                    default: throw data.unknown(k, known: ["eval"])
                    }
                }
            case "estimate":
                guard let table = try root.subtable(key) else { continue }
                estimate = try EstimateOverrides(table: table)
            default:
                throw root.unknown(key, known: ["model", "data", "estimate"])
            }
        }
    }
}

extension SettingsTable {
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
