/// One table of a settings file (the daemon's configuration, a run's `volume.toml`), read key by
/// key: typed reads whose errors name the dotted key and show the refused value, and a suggestion
/// for a misspelt key. `secret` keys never have their value echoed.
public struct SettingsTable: Sendable {
    public let table: TOMLTable
    /// Dotted path of this table ("" for the document, "estimate" for `[estimate]`).
    public let path: String

    public init(_ table: TOMLTable, path: String = "") {
        self.table = table
        self.path = path
    }

    public func dotted(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// Rejects the first key (in sorted order) that is not in `known`.
    public func rejectUnknownKeys(_ known: [String]) throws(SettingError) {
        for key in table.keys.sorted() where !known.contains(key) {
            throw unknown(key, known: known)
        }
    }

    /// `key` is not one of `known`: the error names the nearest known key when it is a likely typo.
    public func unknown(_ key: String, known: [String]) -> SettingError {
        SettingError(key: dotted(key), reason: .unknownKey(suggestion: Self.nearest(to: key, in: known).map(dotted)))
    }

    public func subtable(_ key: String) throws(SettingError) -> SettingsTable? {
        guard let value = table[key] else { return nil }
        guard let sub = value.table else { throw wrongType(key, expected: "a table", value) }
        return SettingsTable(sub, path: dotted(key))
    }

    /// An integer or floating-point value; NaN and infinities are rejected.
    public func number(_ key: String) throws(SettingError) -> Double? {
        guard let value = table[key] else { return nil }
        let number: Double
        if let float = value.float {
            number = float
        } else if let integer = value.integer {
            number = Double(integer)
        } else {
            throw wrongType(key, expected: "a number", value)
        }
        guard number.isFinite else { throw invalid(key, "must be a finite number, got \(number)") }
        return number
    }

    public func integer(_ key: String) throws(SettingError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let int = value.int else { throw wrongType(key, expected: "an integer", value) }
        return int
    }

    public func string(_ key: String, secret: Bool = false) throws(SettingError) -> String? {
        guard let value = table[key] else { return nil }
        guard let string = value.string else {
            throw wrongType(key, expected: "a string", secret ? nil : value)
        }
        // TOML allows "\u0000"; nothing a string is handed to (paths, libpq) does.
        guard !string.utf8.contains(0) else {
            throw invalid(key, "must not contain a NUL character" + (secret ? "" : ", got \(value)"))
        }
        return string
    }

    public func numbers(_ key: String) throws(SettingError) -> [Double]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw wrongType(key, expected: "an array of numbers", value) }
        var result: [Double] = []
        for (index, element) in array.enumerated() {
            if let float = element.float, float.isFinite {
                result.append(float)
            } else if let integer = element.integer {
                result.append(Double(integer))
            } else if element.float != nil {
                throw invalid(key, "element \(index + 1) must be a finite number, got \(element)")
            } else {
                throw SettingError(
                    key: dotted(key),
                    reason: .wrongType(expected: "an array of numbers", found: "element \(index + 1) is \(Self.describe(element))"))
            }
        }
        return result
    }

    public func strings(_ key: String) throws(SettingError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw wrongType(key, expected: "an array of strings", value) }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard let string = element.string else {
                throw SettingError(
                    key: dotted(key),
                    reason: .wrongType(expected: "an array of strings", found: "element \(index + 1) is \(Self.describe(element))"))
            }
            guard !string.utf8.contains(0) else { throw invalid(key, "element \(index + 1) must not contain a NUL character") }
            result.append(string)
        }
        return result
    }

    public func invalid(_ key: String, _ why: String) -> SettingError {
        SettingError(key: dotted(key), reason: .invalidValue(why))
    }

    public func wrongType(_ key: String, expected: String, _ value: TOMLValue?) -> SettingError {
        SettingError(key: dotted(key), reason: .wrongType(expected: expected, found: value.map(Self.describe) ?? "a value of another type"))
    }

    /// "a string \"abc\"", "an integer 3", "an array [ 1, 2 ]": the kind and the value as TOML.
    public static func describe(_ value: TOMLValue) -> String {
        "\(value.kind) \(value)"
    }

    /// The known key closest to a misspelt one, when it is close enough to be a likely typo.
    static func nearest(to key: String, in known: [String]) -> String? {
        let scored = known.map { (candidate: $0, distance: editDistance(key, $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        return best.distance <= max(2, min(key.count, best.candidate.count) / 3) ? best.candidate : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// A key of a settings file that cannot be used: unknown, of the wrong type, or out of range.
/// The file's reader adds the file name (`ConfigError`, `CheckpointError`).
public struct SettingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// A table or key nobody reads, with the nearest known key (dotted) when one is close.
        case unknownKey(suggestion: String?)
        /// The key holds a value of the wrong TOML type.
        case wrongType(expected: String, found: String)
        /// The key has the right type but a value outside its domain: "must be at least 1, got 0".
        case invalidValue(String)
    }

    /// The dotted key (`estimate.cutoffs`).
    public var key: String
    public var reason: Reason

    public init(key: String, reason: Reason) {
        self.key = key
        self.reason = reason
    }

    /// What is wrong with the value, without the key: "expected a number, found a string \"5\"".
    public var problem: String {
        switch reason {
        case .unknownKey(let suggestion): "unknown key" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
        case .wrongType(let expected, let found): "expected \(expected), found \(found)"
        case .invalidValue(let why): why
        }
    }

    public var description: String {
        switch reason {
        case .unknownKey(let suggestion):
            "unknown key '\(key)'" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "")
        case .wrongType, .invalidValue:
            "\(key): \(problem)"
        }
    }
}
