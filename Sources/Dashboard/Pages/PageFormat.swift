import Base
import DB
import Foundation
import Plotting

/// How the pages write numbers, dates and identifiers: fixed decimals (no locale), the same
/// text on every page. A run page formats thousands of them, so they avoid Foundation's
/// formatters.
enum PageFormat {
    static let unboundedVolume = "∞ (unbounded directions)"

    /// log10 volume to 2 decimals; nil is an infinite volume.
    static func volume(_ log10Volume: Double?) -> String {
        guard let log10Volume else { return unboundedVolume }
        return log10Volume.isFinite ? DecimalText.fixed(log10Volume, 2) : unboundedVolume
    }

    /// A change with its sign: "+0.50", "-347.50".
    static func change(_ value: Double) -> String {
        let text = DecimalText.fixed(value, 2)
        return text.hasPrefix("-") || text == "0.00" ? text : "+" + text
    }

    /// The stored bootstrap interval (nats) in log10, "[-3014.40, -3011.40]"; nil without one.
    static func interval(low: Double?, high: Double?) -> String? {
        PlotSeries.Point.log10Interval(natsLow: low, natsHigh: high).map { "[\(DecimalText.fixed($0.lowerBound, 2)), \(DecimalText.fixed($0.upperBound, 2))]" }
    }

    static func decimal(_ value: Double, _ decimals: Int) -> String {
        value.isFinite ? DecimalText.fixed(value, decimals) : value.isNaN ? "NaN" : value > 0 ? "∞" : "-∞"
    }

    /// Seconds to a useful precision, with hours for long ones: "0.42 s", "5400.0 s (1.5 h)".
    static func seconds(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        let text = DecimalText.fixed(value, value < 10 ? 2 : 1) + " s"
        return value >= 3600 ? text + " (\(DecimalText.fixed(value / 3600, 1)) h)" : text
    }

    /// Digits grouped by thousands: "124,439,808".
    static func count(_ value: Int64) -> String {
        let digits = Array(String(value.magnitude).utf8)
        var out: [UInt8] = value < 0 ? [UInt8(ascii: "-")] : []
        out.reserveCapacity(digits.count + digits.count / 3 + 1)
        for (i, digit) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(UInt8(ascii: ",")) }
            out.append(digit)
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func step(_ step: Int64?) -> String {
        step.map(String.init) ?? "—"
    }

    /// The start of a content fingerprint, enough to tell versions apart.
    static func fingerprint(_ fingerprint: String) -> String {
        // Fingerprints are ASCII (hex, `unreadable:` + hex): cut by bytes, not characters.
        fingerprint.utf8.count > 12 && fingerprint.utf8.prefix(12).allSatisfy({ $0 < 0x80 })
            ? String(decoding: fingerprint.utf8.prefix(12), as: UTF8.self) + "…" : fingerprint
    }

    /// UTC, to the second: "2025-03-01 14:05:09 UTC". Computed from the day count (the civil
    /// calendar algorithm of H. Hinnant), not `gmtime`, which takes a lock per call.
    static func timestamp(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let (days, second) = (seconds.floorDivided(by: 86_400), seconds.floorModulo(86_400))
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var out: [UInt8] = []
        out.reserveCapacity(23)
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        guard (0...9999).contains(year) else { return "\(date)" }
        digits(year, 4); out.append(UInt8(ascii: "-")); digits(month, 2); out.append(UInt8(ascii: "-")); digits(day, 2)
        out.append(UInt8(ascii: " "))
        digits(second / 3600, 2); out.append(UInt8(ascii: ":")); digits(second / 60 % 60, 2); out.append(UInt8(ascii: ":"))
        digits(second % 60, 2)
        out += " UTC".utf8
        return String(decoding: out, as: UTF8.self)
    }

    /// The eval data's fingerprint, shortened: "eval 3f2a9c1b".
    static func eval(_ fingerprint: String) -> String {
        let hex = fingerprint.split(separator: ":").last.map(String.init) ?? ""
        return hex.isEmpty ? "no eval data" : "eval " + hex.prefix(8)
    }

    /// What an estimate's `eval_data` says, in a few words: "text eval.jsonl, 20 × 512";
    /// nil when it was not recorded.
    static func evalData(_ json: String?) -> String? {
        guard let json, let value = try? JSONValue.parse(json), let form = value["form"]?.stringValue,
              let file = value["file"]?.stringValue else { return nil }
        var text = "\(form) \(file)"
        if let rows = value["rows"]?.intValue, let length = value["row_length"]?.intValue { text += ", \(rows) × \(length)" }
        return text
    }
}

private extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }

    func floorModulo(_ divisor: Int64) -> Int64 {
        self - floorDivided(by: divisor) * divisor
    }
}
