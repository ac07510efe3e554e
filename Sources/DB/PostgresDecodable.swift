import Foundation

/// A type a column can be decoded as, from PostgreSQL's text format (`nil` = SQL NULL).
/// Non-optional types reject NULL; `Optional` maps NULL to `nil`.
public protocol PostgresDecodable: Sendable {
    static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Self
}

/// Why a value could not be decoded; `Row` turns it into a `DatabaseError` naming the column.
public enum PostgresDecodingFailure: Error, Sendable {
    case unexpectedNull
    case invalid(String)
}

extension PostgresDecodable {
    fileprivate static func required(_ text: String?) throws(PostgresDecodingFailure) -> String {
        guard let text else { throw .unexpectedNull }
        return text
    }
}

extension String: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> String {
        try required(text)
    }
}

extension Int64: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Int64 {
        let text = try required(text)
        guard let value = Int64(text) else { throw .invalid(text) }
        return value
    }
}

extension Int: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Int {
        let text = try required(text)
        guard let value = Int(text) else { throw .invalid(text) }
        return value
    }
}

extension Int32: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Int32 {
        let text = try required(text)
        guard let value = Int32(text) else { throw .invalid(text) }
        return value
    }
}

extension Double: PostgresDecodable {
    /// Accepts PostgreSQL's `Infinity`, `-Infinity` and `NaN` as well as numbers
    /// (float8 and numeric output).
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Double {
        let text = try required(text)
        switch text {
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        case "NaN": return .nan
        default:
            // Swift would also accept "inf"/"nan" spellings PostgreSQL never produces; a
            // leading letter means the column was not a number.
            guard let first = text.utf8.first,
                  first == UInt8(ascii: "-") || first == UInt8(ascii: ".") || (first >= 48 && first <= 57),
                  let value = Double(text)
            else { throw .invalid(text) }
            return value
        }
    }
}

extension Bool: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Bool {
        switch try required(text) {
        case "t", "true": return true
        case "f", "false": return false
        case let other: throw .invalid(other)
        }
    }
}

extension Date: PostgresDecodable {
    /// A `timestamptz` in ISO style (`2024-05-01 12:34:56.789+00`, the format every
    /// `Connection` session uses) or a number of seconds since the epoch
    /// (`extract(epoch from …)`).
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Date {
        let text = try required(text)
        if let seconds = Double(text), seconds.isFinite {
            return Date(timeIntervalSince1970: seconds)
        }
        guard let seconds = ISOTimestamp.secondsSinceEpoch(text) else { throw .invalid(text) }
        return Date(timeIntervalSince1970: seconds)
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(postgresText text: String?) throws(PostgresDecodingFailure) -> Wrapped? {
        guard let text else { return nil }
        return try Wrapped.decode(postgresText: text)
    }
}

/// Parses PostgreSQL's ISO `timestamptz` output: `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]`.
enum ISOTimestamp {
    static func secondsSinceEpoch(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        var index = 0

        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<(index + digits)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += digits
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }

        guard let year = number(4), expect("-"), let month = number(2), expect("-"),
              let day = number(2), expect(" ") || expect("T"),
              let hour = number(2), expect(":"), let minute = number(2), expect(":"),
              let second = number(2)
        else { return nil }
        var fraction = 0.0
        if expect(".") {
            var scale = 0.1
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2) else { return nil }
            var minutes = 0
            var seconds = 0
            if expect(":") {
                guard let m = number(2) else { return nil }
                minutes = m
                if expect(":") {
                    guard let s = number(2) else { return nil }
                    seconds = s
                }
            }
            offset = sign * (hours * 3600 + minutes * 60 + seconds)
        } else if expect("Z") {
            offset = 0
        }
        guard index == bytes.count, (1...12).contains(month), (1...31).contains(day),
              hour < 24, minute < 60, second < 61
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let local = Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction
        return local - Double(offset)
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
