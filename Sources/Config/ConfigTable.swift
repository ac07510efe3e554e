import Base

/// Typed, key-checked reads from one TOML table of the configuration file. Every error it
/// throws names the dotted key; `secret` keys never have their value echoed.
struct ConfigTable {
    let table: TOMLTable
    /// Dotted path of this table ("" for the document, "estimate" for `[estimate]`).
    let path: String
    let file: String

    func dotted(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// Rejects the first key (in sorted order) that is not in `known`.
    func rejectUnknownKeys(_ known: [String]) throws(ConfigError) {
        for key in table.keys.sorted() where !known.contains(key) {
            let suggestion = Self.nearest(to: key, in: known).map(dotted)
            throw ConfigError(file: file, key: dotted(key), reason: .unknownKey(suggestion: suggestion))
        }
    }

    func subtable(_ key: String) throws(ConfigError) -> ConfigTable? {
        guard let value = table[key] else { return nil }
        guard let sub = value.table else {
            throw wrongType(key, expected: "a table", value)
        }
        return ConfigTable(table: sub, path: dotted(key), file: file)
    }

    /// An integer or floating-point value; NaN and infinities are rejected.
    func number(_ key: String) throws(ConfigError) -> Double? {
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

    func integer(_ key: String) throws(ConfigError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let int = value.int else { throw wrongType(key, expected: "an integer", value) }
        return int
    }

    func string(_ key: String, secret: Bool = false) throws(ConfigError) -> String? {
        guard let value = table[key] else { return nil }
        guard let string = value.string else {
            throw wrongType(key, expected: "a string", secret ? nil : value)
        }
        // TOML allows "\u0000"; nothing the daemon hands a string to (paths, libpq) does.
        guard !string.utf8.contains(0) else { throw invalid(key, "must not contain a NUL character") }
        return string
    }

    /// An absolute path.
    func path(_ key: String) throws(ConfigError) -> String? {
        guard let path = try string(key) else { return nil }
        guard path.hasPrefix("/") else { throw invalid(key, "must be an absolute path, got \"\(path)\"") }
        return path
    }

    func numbers(_ key: String) throws(ConfigError) -> [Double]? {
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
                throw ConfigError(
                    file: file, key: dotted(key),
                    reason: .wrongType(expected: "an array of numbers", found: "element \(index + 1) is \(Self.describe(element))"))
            }
        }
        return result
    }

    func strings(_ key: String) throws(ConfigError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw wrongType(key, expected: "an array of strings", value) }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard let string = element.string else {
                throw ConfigError(
                    file: file, key: dotted(key),
                    reason: .wrongType(expected: "an array of strings", found: "element \(index + 1) is \(Self.describe(element))"))
            }
            result.append(string)
        }
        return result
    }

    func invalid(_ key: String, _ why: String) -> ConfigError {
        ConfigError(file: file, key: dotted(key), reason: .invalidValue(why))
    }

    func wrongType(_ key: String, expected: String, _ value: TOMLValue?) -> ConfigError {
        let found = value.map(Self.describe) ?? "a value of another type"
        return ConfigError(file: file, key: dotted(key), reason: .wrongType(expected: expected, found: found))
    }

    /// "a string \"abc\"", "an integer 3", "a table" — the value is shown for scalars only.
    static func describe(_ value: TOMLValue) -> String {
        switch value {
        case .string(let string): "a string \"\(string)\""
        case .integer(let integer): "an integer \(integer)"
        case .float(let float): "a floating-point number \(float)"
        case .boolean(let bool): "a boolean \(bool)"
        case .table: "a table"
        case .array: "an array"
        case .offsetDateTime, .localDateTime: "a date-time"
        case .localDate: "a date"
        case .localTime: "a time"
        }
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
