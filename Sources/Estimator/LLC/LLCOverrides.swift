import Base

/// An `[llc]` table: of the daemon's configuration, a run's `volume.toml` or an LLC job's
/// settings. Every key is optional; what is given replaces the plan it is laid over.
///
/// ```toml
/// [llc]
/// enabled = true
/// epsilon = 0.001      # ε, the SGLD step size
/// gamma = 100          # γ, the localization
/// nbeta = "auto"       # nβ: "auto" (B / ln B) or a number
/// chains = 4
/// draws = 200
/// burn_in = 0
/// batch_size = 32
/// seed = 0
/// params = ["fc1.*"]   # globs over parameter names; [] = every weight
/// ```
public struct LLCOverrides: Sendable, Equatable {
    public static let keys = ["enabled", "epsilon", "gamma", "nbeta", "chains", "draws", "burn_in", "batch_size", "seed", "params"]

    public var enabled: Bool?
    public var epsilon: Double?
    public var gamma: Double?
    /// `.some(nil)`: "auto".
    public var nbeta: Double??
    public var chains: Int?
    public var draws: Int?
    public var burnIn: Int?
    public var batchSize: Int?
    public var seed: UInt64?
    /// Canonical: sorted, without duplicates.
    public var parameters: [String]?

    public init() {}

    /// Reads the table's keys in its order, so that the first problem in the file is the one reported.
    public init(table: SettingsTable) throws(SettingError) {
        self.init()
        for key in table.table.keys {
            switch key {
            case "enabled":
                guard let value = table.table[key] else { continue }
                guard let flag = value.bool else { throw table.wrongType(key, expected: "a boolean", value) }
                enabled = flag
            case "epsilon":
                epsilon = try Self.positive(table, key)
            case "gamma":
                guard let gamma = try table.number(key) else { continue }
                guard gamma >= 0 else { throw table.invalid(key, "must be at least 0, got \(gamma)") }
                self.gamma = gamma
            case "nbeta":
                guard let value = table.table[key] else { continue }
                if let text = value.string {
                    if text == "auto" {
                        nbeta = .some(nil)
                        continue
                    }
                    // A number written as text, as the command line does.
                    guard let number = Double(text), number.isFinite, number > 0 else {
                        throw table.invalid(key, "expected \"auto\" or a positive number, got \"\(text)\"")
                    }
                    nbeta = number
                } else {
                    guard value.float != nil || value.integer != nil else {
                        throw table.wrongType(key, expected: "\"auto\" or a number", value)
                    }
                    nbeta = try Self.positive(table, key)
                }
            case "chains": chains = try Self.atLeast(1, table, key)
            case "draws": draws = try Self.atLeast(1, table, key)
            case "burn_in": burnIn = try Self.atLeast(0, table, key)
            case "batch_size": batchSize = try Self.atLeast(1, table, key)
            case "seed": seed = try Self.atLeast(0, table, key).map(UInt64.init)
            case "params":
                guard let patterns = try table.strings(key) else { continue }
                for pattern in patterns where pattern.isEmpty || pattern.contains(where: \.isWhitespace) {
                    throw table.invalid(key, "a pattern must be a non-empty glob without spaces, got \"\(pattern)\"")
                }
                parameters = Array(Set(patterns)).sorted()
            default:
                throw table.unknown(key, known: Self.keys)
            }
        }
    }

    /// `plan` with these keys replacing its own.
    public func applied(to plan: LLCPlan) -> LLCPlan {
        var plan = plan
        if let enabled { plan.enabled = enabled }
        if let epsilon { plan.settings.epsilon = epsilon }
        if let gamma { plan.settings.gamma = gamma }
        if let nbeta { plan.settings.nbeta = nbeta }
        if let chains { plan.settings.chains = chains }
        if let draws { plan.settings.draws = draws }
        if let burnIn { plan.settings.burnIn = burnIn }
        if let batchSize { plan.settings.batchSize = batchSize }
        if let seed { plan.settings.seed = seed }
        if let parameters { plan.settings.parameters = parameters }
        return plan
    }

    private static func positive(_ table: SettingsTable, _ key: String) throws(SettingError) -> Double? {
        guard let number = try table.number(key) else { return nil }
        guard number > 0 else { throw table.invalid(key, "must be greater than 0, got \(number)") }
        return number
    }

    private static func atLeast(_ minimum: Int, _ table: SettingsTable, _ key: String) throws(SettingError) -> Int? {
        guard let n = try table.integer(key) else { return nil }
        guard n >= minimum else { throw table.invalid(key, "must be at least \(minimum), got \(n)") }
        return n
    }
}

extension LLCSettings {
    /// The settings as an LLC job stores them (keys as in `[llc]`; nβ "auto" or the number),
    /// read back by `init(settingsJSON:)`. The text must stay the same for the same settings:
    /// its SHA-256 is the estimate's settings key.
    public var settingsJSON: [(String, JSONValue)] {
        [("epsilon", .double(epsilon)), ("gamma", .double(gamma)), ("nbeta", nbeta.map(JSONValue.double) ?? .string("auto")),
         ("chains", .int(chains)), ("draws", .int(draws)), ("burn_in", .int(burnIn)), ("batch_size", .int(batchSize)),
         ("seed", .number(String(seed))), ("params", .array(parameters.map(JSONValue.string)))]
    }

    /// nβ as configured: "auto" or the number.
    public var nbetaRule: String { nbeta.map { JSONValue.double($0).serialized() } ?? "auto" }

    /// Reads `settingsJSON` back: every key must be there, checked as `[llc]` is.
    public init(settingsJSON object: JSONObject) throws(SettingError) {
        var pairs: [(String, TOMLValue)] = []
        for (key, _) in LLCSettings().settingsJSON {
            guard let json = object[key] else { throw SettingError(key: key, reason: .invalidValue("is missing")) }
            // An empty `params` list is a TOML array like any other.
            guard let value = TOMLValue(json: json) else { throw SettingError(key: key, reason: .invalidValue("is null")) }
            pairs.append((key, value))
        }
        self = try LLCOverrides(table: SettingsTable(TOMLTable(pairs))).applied(to: LLCPlan()).settings
    }
}
