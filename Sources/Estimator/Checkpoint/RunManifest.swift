import Base

/// `[estimate]` settings that replace defaults: a run's `volume.toml` over the daemon's
/// configuration, the command line over both. Nil means "not given here".
public struct EstimateOverrides: Sendable, Equatable {
    public var cutoffs: [Double]?
    public var preconditioners: [PreconditionerSpec]?
    public var prior: EstimateSettings.Prior?
    public var priorCenter: EstimateSettings.PriorCenter?
    public var sigma: EstimateSettings.SigmaRule?
    public var directions: Int?
    public var seed: UInt64?
    public var tolerance: Double?
    /// Command line only (`volumed estimate --directions-from`).
    public var directionStream: DirectionStream?

    public init(
        cutoffs: [Double]? = nil, preconditioners: [PreconditionerSpec]? = nil, prior: EstimateSettings.Prior? = nil,
        priorCenter: EstimateSettings.PriorCenter? = nil, sigma: EstimateSettings.SigmaRule? = nil,
        directions: Int? = nil, seed: UInt64? = nil, tolerance: Double? = nil
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

    /// Reads an `[estimate]` table (of a run manifest or the daemon's configuration); `prefix`
    /// is the table's dotted name for error messages.
    public init(table: TOMLTable, source: String, prefix: String = "estimate") throws(CheckpointError) {
        self = try Reader(source: source).overrides(table, prefix: prefix)
    }

    /// These overrides laid over `plan`.
    public func applied(to plan: EstimationPlan) -> EstimationPlan {
        var p = plan
        if let cutoffs { p.settings.cutoffs = cutoffs }
        if let preconditioners { p.preconditioners = preconditioners }
        if let prior { p.settings.prior = prior }
        if let priorCenter { p.settings.priorCenter = priorCenter }
        if let sigma { p.settings.sigma = sigma }
        if let directions { p.settings.directions = directions }
        if let seed { p.settings.seed = seed }
        if let tolerance { p.settings.tolerance = tolerance }
        if let directionStream { p.settings.directionStream = directionStream }
        return p
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
            root = try TOMLDocument.parse(text)
        } catch {
            throw CheckpointError("manifest.syntax", file: source, "line \(error.line), column \(error.column): \(error.message)")
        }
        let reader = Reader(source: source)
        self.init()
        // In the file's order, so that the first problem in the file is the one reported.
        for (key, value) in root {
            switch key {
            case "model":
                for (k, v) in try reader.table(value, key) {
                    switch k {
                    case "architecture": architecture = try reader.name(v, "model.architecture")
                    case "activation": activation = try reader.name(v, "model.activation")
                    default: throw reader.unknown("model.\(k)")
                    }
                }
            case "data":
                for (k, v) in try reader.table(value, key) {
                    switch k {
                    case "eval": evalFile = try reader.relativePath(v, "data.eval")
                    default: throw reader.unknown("data.\(k)")
                    }
                }
            case "estimate":
                estimate = try reader.overrides(try reader.table(value, key), prefix: key)
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

    func bad(_ key: String, _ expected: String, _ value: TOMLValue) -> CheckpointError {
        CheckpointError("manifest.bad_value", file: source, "'\(key)' must be \(expected), not \(value)")
    }

    func table(_ value: TOMLValue, _ key: String) throws(CheckpointError) -> TOMLTable {
        guard let table = value.table else { throw bad(key, "a table", value) }
        return table
    }

    func name(_ value: TOMLValue, _ key: String) throws(CheckpointError) -> String {
        guard let s = value.string, !s.isEmpty else { throw bad(key, "a non-empty string", value) }
        guard !s.utf8.contains(0) else { throw bad(key, "a string without NUL characters", value) }
        return s
    }

    func relativePath(_ value: TOMLValue, _ key: String) throws(CheckpointError) -> String {
        let path = try name(value, key)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !parts.contains(".."), !parts.contains("") else {
            throw CheckpointError("manifest.bad_value", file: source, "'\(key)' must be a file name inside the run folder, not '\(path)'")
        }
        return path
    }

    func positive(_ value: TOMLValue, _ key: String) throws(CheckpointError) -> Double {
        let number = value.float ?? value.integer.map(Double.init)
        guard let number, number.isFinite, number > 0 else { throw bad(key, "a positive number", value) }
        return number
    }

    func integer(_ value: TOMLValue, _ key: String, minimum: Int) throws(CheckpointError) -> Int {
        guard let n = value.int, n >= minimum else {
            throw bad(key, minimum > 0 ? "a positive integer" : "a non-negative integer", value)
        }
        return n
    }

    func array(_ value: TOMLValue, _ key: String) throws(CheckpointError) -> [TOMLValue] {
        guard let array = value.array, !array.isEmpty else { throw bad(key, "a non-empty array", value) }
        return array
    }

    func overrides(_ table: TOMLTable, prefix: String) throws(CheckpointError) -> EstimateOverrides {
        var o = EstimateOverrides()
        for (k, v) in table {
            let key = "\(prefix).\(k)"
            switch k {
            case "cutoffs":
                var cutoffs: [Double] = []
                for item in try array(v, key) { cutoffs.append(try positive(item, key + "[]")) }
                guard Set(cutoffs).count == cutoffs.count else { throw bad(key, "distinct cutoffs", v) }
                o.cutoffs = cutoffs
            case "preconditioners":
                var specs: [PreconditionerSpec] = []
                for item in try array(v, key) {
                    do {
                        specs.append(try PreconditionerSpec(parsing: try name(item, key + "[]")))
                    } catch let error as PreconditionerSpecError {
                        throw CheckpointError("manifest.bad_value", file: source, "'\(key)' must be valid preconditioners: \(error.detail)")
                    } catch {
                        throw error as! CheckpointError
                    }
                }
                guard Set(specs).count == specs.count else { throw bad(key, "distinct preconditioners", v) }
                o.preconditioners = specs
            case "prior":
                guard let prior = EstimateSettings.Prior(rawValue: try name(v, key)) else {
                    throw bad(key, "\"gaussian\" or \"uniform\"", v)
                }
                o.prior = prior
            case "prior_center":
                guard let center = EstimateSettings.PriorCenter(rawValue: try name(v, key)) else {
                    throw bad(key, "\"zero\" or \"anchor\"", v)
                }
                o.priorCenter = center
            case "sigma":
                if let s = v.string {
                    guard s == "rms" else { throw bad(key, "\"rms\" or a positive number", v) }
                    o.sigma = .rms
                } else {
                    o.sigma = .value(try positive(v, key))
                }
            case "directions": o.directions = try integer(v, key, minimum: 1)
            case "seed": o.seed = UInt64(try integer(v, key, minimum: 0))
            case "tolerance":
                let t = try positive(v, key)
                guard t < 1 else { throw bad(key, "a number between 0 and 1", v) }
                o.tolerance = t
            default: throw unknown(key)
            }
        }
        return o
    }
}
