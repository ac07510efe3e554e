import Base
/// One `[estimate]` setting, the one place that knows it: its key (the same in the daemon's
/// configuration, a run's `volume.toml`, a job's settings JSON, and as a flag of `volumed
/// estimate`), how its value is read, which values are valid and what the error says, and how a
/// job's JSON writes it.
public enum EstimateSetting: String, CaseIterable, Sendable {
    case cutoffs
    case preconditioners
    case prior
    case priorCenter = "prior_center"
    case sigma
    case directions
    case seed
    case tolerance
    case neighbourhood
    case parameters = "params"

    /// The keys, in the order a job's settings JSON writes them.
    public static var keys: [String] { allCases.map(\.rawValue) }

    /// `volumed estimate`'s flag for this setting.
    public var flag: String {
        switch self {
        case .cutoffs: "--cutoff"
        case .preconditioners: "--preconditioner"
        case .priorCenter: "--prior-center"
        case .parameters: "--params"
        default: "--" + rawValue
        }
    }

    // MARK: Reading

    /// Reads this setting from `table` into `overrides`; absent keys leave it unset.
    func read(from table: SettingsTable, into overrides: inout EstimateOverrides) throws(SettingError) {
        let key = rawValue
        switch self {
        case .cutoffs:
            guard let cutoffs = try table.numbers(key) else { return }
            if let why = Self.problem(cutoffs: cutoffs) { throw table.invalid(key, why) }
            overrides.cutoffs = cutoffs
        case .preconditioners:
            guard let names = try table.strings(key) else { return }
            guard !names.isEmpty else {
                throw table.invalid(key, "must list at least one preconditioner (\"none\" for plain directions)")
            }
            var specs: [PreconditionerSpec] = []
            for name in names {
                let spec: PreconditionerSpec
                do { spec = try PreconditionerSpec(parsing: name) } catch {
                    throw table.invalid(key, "\"\(name)\": \(error.detail)")
                }
                guard !specs.contains(spec) else { throw table.invalid(key, "lists the preconditioner \"\(spec)\" twice") }
                specs.append(spec)
            }
            overrides.preconditioners = specs
        case .prior:
            guard let name = try table.string(key) else { return }
            guard let prior = EstimateSettings.Prior(rawValue: name) else {
                throw table.invalid(key, "expected \"gaussian\" or \"uniform\", got \"\(name)\"")
            }
            overrides.prior = prior
        case .priorCenter:
            guard let name = try table.string(key) else { return }
            guard let center = EstimateSettings.PriorCenter(rawValue: name) else {
                throw table.invalid(key, "expected \"zero\" or \"anchor\", got \"\(name)\"")
            }
            overrides.priorCenter = center
        case .sigma:
            guard let value = table.table[key] else { return }
            if let text = value.string {
                // "rms", or a number written as text (as a job's JSON and the command line do).
                guard let rule = EstimateSettings.SigmaRule(text) else {
                    throw table.invalid(key, "expected \"rms\" or a positive number, got \"\(text)\"")
                }
                overrides.sigma = rule
            } else if value.integer != nil || value.float != nil, let number = try table.number(key) {
                if let why = Self.problem(sigma: number) { throw table.invalid(key, why) }
                overrides.sigma = .value(number)
            } else {
                throw table.wrongType(key, expected: "\"rms\" or a positive number", value)
            }
        case .directions:
            guard let directions = try table.integer(key) else { return }
            if let why = Self.problem(directions: directions) { throw table.invalid(key, why) }
            overrides.directions = directions
        case .seed:
            guard let seed = try table.integer(key) else { return }
            guard seed >= 0 else { throw table.invalid(key, "must be at least 0, got \(seed)") }
            overrides.seed = UInt64(seed)
        case .tolerance:
            guard let tolerance = try table.number(key) else { return }
            if let why = Self.problem(tolerance: tolerance) { throw table.invalid(key, why) }
            overrides.tolerance = tolerance
        case .neighbourhood:
            guard let name = try table.string(key) else { return }
            guard let neighbourhood = EstimateSettings.Neighbourhood(rawValue: name) else {
                throw table.invalid(key, "expected \"kl\" or \"loss\", got \"\(name)\"")
            }
            overrides.neighbourhood = neighbourhood
        case .parameters:
            guard let patterns = try table.strings(key) else { return }
            if let why = Self.problem(parameters: patterns) { throw table.invalid(key, why) }
            overrides.parameters = ParameterSelection.canonical(patterns)
        }
    }

    // MARK: Valid values

    /// Why `settings` holds an invalid value for this setting; nil when it is valid.
    func problem(in settings: EstimateSettings) -> String? {
        switch self {
        case .cutoffs: Self.problem(cutoffs: settings.cutoffs)
        case .sigma: if case .value(let sigma) = settings.sigma { Self.problem(sigma: sigma) } else { nil }
        case .directions: Self.problem(directions: settings.directions)
        case .tolerance: Self.problem(tolerance: settings.tolerance)
        case .parameters: Self.problem(parameters: settings.parameters)
        case .preconditioners, .prior, .priorCenter, .seed, .neighbourhood: nil
        }
    }

    /// Patterns are stored joined by spaces (docs/storage.md), so none may be empty or hold
    /// whitespace.
    private static func problem(parameters: [String]) -> String? {
        for pattern in parameters where pattern.isEmpty || pattern.contains(where: \.isWhitespace) {
            return "a parameter pattern must be non-empty and hold no whitespace, got \"\(pattern)\""
        }
        return nil
    }

    private static func problem(cutoffs: [Double]) -> String? {
        guard !cutoffs.isEmpty else { return "must list at least one cutoff" }
        for cutoff in cutoffs where !(cutoff.isFinite && cutoff > 0) {
            return "every cutoff must be greater than 0 nats, got \(cutoff)"
        }
        for (index, cutoff) in cutoffs.enumerated() where cutoffs[..<index].contains(cutoff) {
            return "lists the cutoff \(cutoff) twice"
        }
        return nil
    }

    private static func problem(sigma: Double) -> String? {
        sigma.isFinite && sigma > 0 ? nil : "must be \"rms\" or greater than 0, got \(sigma)"
    }

    private static func problem(directions: Int) -> String? {
        directions >= 1 ? nil : "must be at least 1, got \(directions)"
    }

    private static func problem(tolerance: Double) -> String? {
        tolerance.isFinite && tolerance > 0 && tolerance < 1 ? nil : "must be between 0 and 1 (exclusive), got \(tolerance)"
    }

    // MARK: A job's JSON

    /// This setting of `plan` as a job's settings JSON holds it (its SHA-256 is the job's key, so
    /// the text must never change for the same value); nil for a setting added later at its
    /// default, which is left out so that the keys of older settings stay what they were.
    func json(_ plan: EstimationPlan) -> JSONValue? {
        let s = plan.settings
        return switch self {
        case .cutoffs: .array(s.cutoffs.map(JSONValue.double))
        case .preconditioners: .array(plan.preconditioners.map { .string($0.description) })
        case .prior: .string(s.prior.rawValue)
        case .priorCenter: .string(s.priorCenter.rawValue)
        case .sigma: .string(s.sigma.description)
        case .directions: .int(s.directions)
        case .seed: .number(String(s.seed))
        case .tolerance: .double(s.tolerance)
        case .neighbourhood: s.neighbourhood == .kl ? nil : .string(s.neighbourhood.rawValue)
        case .parameters: s.parameters.isEmpty ? nil : .array(ParameterSelection.canonical(s.parameters).map(JSONValue.string))
        }
    }

    /// Settings a job's JSON may leave out (at their defaults, `json` omits them).
    var isOptionalInJSON: Bool { self == .neighbourhood || self == .parameters }
}

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
    public var neighbourhood: EstimateSettings.Neighbourhood?
    /// Canonical patterns (`ParameterSelection.canonical`); empty: every parameter.
    public var parameters: [String]?
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

    /// Reads an `[estimate]` table: of the daemon's configuration, a run's `volume.toml`, the
    /// command line's flags or a job's settings. Keys are read in the table's order, so the
    /// first problem in the file is the one reported.
    public init(table: SettingsTable) throws(SettingError) {
        self.init()
        for key in table.table.keys {
            guard let setting = EstimateSetting(rawValue: key) else {
                throw table.unknown(key, known: EstimateSetting.keys)
            }
            try setting.read(from: table, into: &self)
        }
    }

    /// Whether `setting` is given here.
    public func contains(_ setting: EstimateSetting) -> Bool {
        switch setting {
        case .cutoffs: cutoffs != nil
        case .preconditioners: preconditioners != nil
        case .prior: prior != nil
        case .priorCenter: priorCenter != nil
        case .sigma: sigma != nil
        case .directions: directions != nil
        case .seed: seed != nil
        case .tolerance: tolerance != nil
        case .neighbourhood: neighbourhood != nil
        case .parameters: parameters != nil
        }
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
        if let neighbourhood { p.settings.neighbourhood = neighbourhood }
        if let parameters { p.settings.parameters = parameters }
        if let directionStream { p.settings.directionStream = directionStream }
        return p
    }
}

extension EstimationPlan {
    /// The plan's settings as a job's JSON holds them, keys in `EstimateSetting` order (the
    /// neighbourhood and parameters only where they are not the defaults).
    public var settingsJSON: [(String, JSONValue)] {
        EstimateSetting.allCases.compactMap { setting in setting.json(self).map { (setting.rawValue, $0) } }
    }

    /// Reads the settings JSON back: every setting must be there (but those `settingsJSON`
    /// leaves out at their defaults), read and checked as the configuration's `[estimate]` is.
    /// Other keys are left to the caller.
    public init(settingsJSON object: JSONObject) throws(SettingError) {
        var pairs: [(String, TOMLValue)] = []
        for setting in EstimateSetting.allCases {
            guard let value = object[setting.rawValue].flatMap(TOMLValue.init(json:)) else {
                if setting.isOptionalInJSON { continue }
                throw SettingError(key: setting.rawValue, reason: .invalidValue("is missing"))
            }
            pairs.append((setting.rawValue, value))
        }
        self = try EstimateOverrides(table: SettingsTable(TOMLTable(pairs))).applied(to: EstimationPlan())
    }
}

extension TOMLValue {
    /// A JSON value as the TOML value it would be written as; nil for `null`. Numbers written as
    /// integers become integers.
    init?(json: JSONValue) {
        switch json {
        case .null: return nil
        case .bool(let b): self = .boolean(b)
        case .number(let text):
            if let integer = Int64(text) {
                self = .integer(integer)
            } else if let float = Double(text) {
                self = .float(float)
            } else {
                return nil
            }
        case .string(let s): self = .string(s)
        case .array(let items):
            var values: [TOMLValue] = []
            for item in items {
                guard let value = TOMLValue(json: item) else { return nil }
                values.append(value)
            }
            self = .array(values)
        case .object(let object):
            var pairs: [(String, TOMLValue)] = []
            for (key, item) in object.entries {
                guard let value = TOMLValue(json: item) else { return nil }
                pairs.append((key, value))
            }
            self = .table(TOMLTable(pairs))
        }
    }
}

extension EstimateSettings {
    /// Checks ranges with the same rules and messages as every settings file; the code names
    /// the setting (`settings.cutoffs`, `settings.directions`, …).
    public func validate() throws(EstimatorError) {
        for setting in EstimateSetting.allCases {
            if let why = setting.problem(in: self) {
                throw EstimatorError(code: "settings.\(setting.rawValue)", "\(setting.rawValue): \(why)")
            }
        }
    }
}
