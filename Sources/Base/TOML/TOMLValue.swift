/// A TOML 1.0 value (toml.io/en/v1.0.0).
///
/// Dates and times are kept as the validated text of the document (`1979-05-27T07:32:00Z`):
/// nothing in volumed computes with them, but a document holding them must still parse.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    /// Includes `inf`, `-inf` and `nan`.
    case float(Double)
    case boolean(Bool)
    /// `1979-05-27T07:32:00Z`, `1979-05-27 00:32:00.5-07:00`.
    case offsetDateTime(String)
    /// `1979-05-27T07:32:00`.
    case localDateTime(String)
    /// `1979-05-27`.
    case localDate(String)
    /// `07:32:00.999`.
    case localTime(String)
    case array([TOMLValue])
    case table(TOMLTable)

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var integer: Int64? { if case .integer(let n) = self { n } else { nil } }
    /// The integer as an `Int`, when it is one and fits.
    public var int: Int? { integer.flatMap { Int(exactly: $0) } }
    /// Floats only: integers are not converted, so callers decide whether `1` may stand for `1.0`.
    public var float: Double? { if case .float(let x) = self { x } else { nil } }
    public var bool: Bool? { if case .boolean(let b) = self { b } else { nil } }
    public var array: [TOMLValue]? { if case .array(let a) = self { a } else { nil } }
    public var table: TOMLTable? { if case .table(let t) = self { t } else { nil } }

    /// The kind of value with its article, for messages: "a string", "an integer", "an array".
    public var kind: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a floating-point number"
        case .boolean: "a boolean"
        case .offsetDateTime: "an offset date-time"
        case .localDateTime: "a local date-time"
        case .localDate: "a local date"
        case .localTime: "a local time"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

extension TOMLValue: CustomStringConvertible {
    /// The value written as TOML, on one line: `"text"`, `[ 1, 2 ]`, `{ a = 1.5 }`.
    public var description: String {
        switch self {
        case .string(let s): TOMLKey.quoted(s)
        case .integer(let n): String(n)
        case .float(let x): x.isNaN ? "nan" : String(x)
        case .boolean(let b): String(b)
        case .offsetDateTime(let text), .localDateTime(let text), .localDate(let text), .localTime(let text): text
        case .array(let elements): elements.isEmpty ? "[]" : "[ " + elements.map(\.description).joined(separator: ", ") + " ]"
        case .table(let table): table.description
        }
    }
}
