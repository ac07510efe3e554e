import Base

/// A configuration file that cannot be used, naming the file, the dotted key and the reason.
/// Values of `database.url` are never echoed: it may hold a password.
public struct ConfigError: CodedError, Equatable {
    public enum Reason: Sendable, Equatable {
        /// The file could not be read (missing, permissions, not UTF-8, NUL bytes).
        case unreadable(String)
        /// TOML syntax error at a 1-based line and column.
        case syntax(line: Int, column: Int, message: String)
        /// A table or key the daemon does not know, with the nearest known key when one is close.
        case unknownKey(suggestion: String?)
        /// The key holds a value of the wrong TOML type.
        case wrongType(expected: String, found: String)
        /// The key has the right type but a value outside its domain.
        case invalidValue(String)
    }

    /// The configuration file as the user named it.
    public var file: String
    /// The dotted key (`estimate.cutoffs`), nil for whole-file problems.
    public var key: String?
    public var reason: Reason

    public init(file: String, key: String?, reason: Reason) {
        self.file = file
        self.key = key
        self.reason = reason
    }

    /// A problem with one key of the file.
    public init(file: String, _ error: SettingError) {
        let reason: Reason = switch error.reason {
        case .unknownKey(let suggestion): .unknownKey(suggestion: suggestion)
        case .wrongType(let expected, let found): .wrongType(expected: expected, found: found)
        case .invalidValue(let why): .invalidValue(why)
        }
        self.init(file: file, key: error.key, reason: reason)
    }

    public var code: String {
        switch reason {
        case .unreadable: "config.unreadable"
        case .syntax: "config.syntax"
        case .unknownKey: "config.unknown_key"
        case .wrongType: "config.type"
        case .invalidValue: "config.value"
        }
    }

    public var description: String {
        switch reason {
        case .unreadable(let why):
            return "\(file): \(why)"
        case .syntax(let line, let column, let message):
            return "\(file):\(line):\(column): invalid TOML: \(message)"
        case .unknownKey(let suggestion):
            return "\(file): \(SettingError(key: key ?? "", reason: .unknownKey(suggestion: suggestion)))"
        case .wrongType(let expected, let found):
            return "\(file): \(SettingError(key: key ?? "", reason: .wrongType(expected: expected, found: found)))"
        case .invalidValue(let why):
            return "\(file): \(SettingError(key: key ?? "", reason: .invalidValue(why)))"
        }
    }
}
