import TOMLKit

/// Per-run settings from `volume.toml` that replace the daemon's configured defaults.
public struct EstimateOverrides: Sendable, Equatable {
    /// How the prior's scale is chosen: the checkpoint's parameter RMS, or a fixed value.
    public enum Sigma: Sendable, Equatable {
        case rms
        case fixed(Double)
    }

    public var cutoffs: [Double]?
    public var preconditioners: [String]?
    public var prior: String?
    public var priorCenter: String?
    public var sigma: Sigma?
    public var directions: Int?
    public var seed: Int?
    public var tolerance: Double?

    public init(
        cutoffs: [Double]? = nil, preconditioners: [String]? = nil, prior: String? = nil, priorCenter: String? = nil,
        sigma: Sigma? = nil, directions: Int? = nil, seed: Int? = nil, tolerance: Double? = nil
    ) {
        self.cutoffs = cutoffs
        self.preconditioners = preconditioners
        self.prior = prior
        self.priorCenter = priorCenter
        self.sigma = sigma
        self.directions = directions
        self.seed = seed
        self.tolerance = tolerance
    }
}

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
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let at = error.source.begin
            throw CheckpointError("manifest.syntax", file: source, "line \(at.line), column \(at.column): \(error.description)")
        } catch {
            throw CheckpointError("manifest.syntax", file: source, "\(error)")
        }
        let reader = Reader(source: source)
        self.init()
        for key in root.keys {
            guard let value = root[key] else { continue }
            switch key {
            case "model":
                let table = try reader.table(value, key)
                for k in table.keys {
                    guard let v = table[k] else { continue }
                    switch k {
                    case "architecture": architecture = try reader.name(v, "model.architecture")
                    case "activation": activation = try reader.name(v, "model.activation")
                    default: throw reader.unknown("model.\(k)")
                    }
                }
            case "data":
                let table = try reader.table(value, key)
                for k in table.keys {
                    guard let v = table[k] else { continue }
                    switch k {
                    case "eval": evalFile = try reader.relativePath(v, "data.eval")
                    default: throw reader.unknown("data.\(k)")
                    }
                }
            case "estimate":
                estimate = try reader.overrides(try reader.table(value, key))
            default:
                throw reader.unknown(key)
            }
        }
    }
}

private struct Reader {
    let source: String

    func unknown(_ key: String) -> CheckpointError {
        CheckpointError("manifest.unknown_key", file: source, "unknown key '\(key)'")
    }

    func bad(_ key: String, _ expected: String, _ value: any TOMLValueConvertible) -> CheckpointError {
        CheckpointError("manifest.bad_value", file: source, "'\(key)' must be \(expected), not \(value.debugDescription)")
    }

    func table(_ value: any TOMLValueConvertible, _ key: String) throws(CheckpointError) -> TOMLTable {
        guard let table = value.table else { throw bad(key, "a table", value) }
        return table
    }

    func name(_ value: any TOMLValueConvertible, _ key: String) throws(CheckpointError) -> String {
        guard let s = value.string, !s.isEmpty else { throw bad(key, "a non-empty string", value) }
        return s
    }

    func relativePath(_ value: any TOMLValueConvertible, _ key: String) throws(CheckpointError) -> String {
        let path = try name(value, key)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !parts.contains(".."), !parts.contains(""), !path.contains("\0") else {
            throw CheckpointError("manifest.bad_value", file: source, "'\(key)' must be a file name inside the run folder, not '\(path)'")
        }
        return path
    }

    func positive(_ value: any TOMLValueConvertible, _ key: String) throws(CheckpointError) -> Double {
        let number = value.double ?? value.int.map(Double.init)
        guard let number, number.isFinite, number > 0 else { throw bad(key, "a positive number", value) }
        return number
    }

    func integer(_ value: any TOMLValueConvertible, _ key: String, minimum: Int) throws(CheckpointError) -> Int {
        guard let n = value.int, n >= minimum else {
            throw bad(key, minimum > 0 ? "a positive integer" : "a non-negative integer", value)
        }
        return n
    }

    func array(_ value: any TOMLValueConvertible, _ key: String) throws(CheckpointError) -> TOMLArray {
        guard let array = value.array, !array.isEmpty else { throw bad(key, "a non-empty array", value) }
        return array
    }

    func overrides(_ table: TOMLTable) throws(CheckpointError) -> EstimateOverrides {
        var o = EstimateOverrides()
        for k in table.keys {
            guard let v = table[k] else { continue }
            let key = "estimate.\(k)"
            switch k {
            case "cutoffs":
                var cutoffs: [Double] = []
                for item in try array(v, key) { cutoffs.append(try positive(item, key + "[]")) }
                o.cutoffs = cutoffs
            case "preconditioners":
                var names: [String] = []
                for item in try array(v, key) { names.append(try name(item, key + "[]")) }
                o.preconditioners = names
            case "prior": o.prior = try name(v, key)
            case "prior_center": o.priorCenter = try name(v, key)
            case "sigma":
                if let s = v.string {
                    guard s == "rms" else { throw bad(key, "\"rms\" or a positive number", v) }
                    o.sigma = .rms
                } else {
                    o.sigma = .fixed(try positive(v, key))
                }
            case "directions": o.directions = try integer(v, key, minimum: 1)
            case "seed": o.seed = try integer(v, key, minimum: 0)
            case "tolerance": o.tolerance = try positive(v, key)
            default: throw unknown(key)
            }
        }
        return o
    }
}
