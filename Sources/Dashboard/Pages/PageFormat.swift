import DB
import Foundation
import Plotting

/// How the pages write numbers, dates and identifiers: fixed decimals (no locale), the same
/// text on every page.
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
        log10Interval(low: low, high: high).map { "[\(DecimalText.fixed($0.lowerBound, 2)), \(DecimalText.fixed($0.upperBound, 2))]" }
    }

    /// The stored interval is in nats; the plots and pages show log10.
    static func log10Interval(low: Double?, high: Double?) -> ClosedRange<Double>? {
        guard let low, let high, low.isFinite, high.isFinite, low <= high else { return nil }
        return (low / M_LN10)...(high / M_LN10)
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
        let digits = String(value.magnitude)
        var out = value < 0 ? "-" : ""
        for (i, digit) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }

    static func step(_ step: Int64?) -> String {
        step.map(String.init) ?? "—"
    }

    /// The start of a content fingerprint, enough to tell versions apart.
    static func fingerprint(_ fingerprint: String) -> String {
        fingerprint.count > 12 ? String(fingerprint.prefix(12)) + "…" : fingerprint
    }

    /// UTC, to the second: "2025-03-01 14:05:09 UTC".
    static func timestamp(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }

    /// The preconditioner as users write it (`adam:eps=0.001,exponent=0.5`).
    static func preconditioner(_ key: EstimateKey) -> String {
        key.preconditionerParams.isEmpty ? key.preconditioner : "\(key.preconditioner):\(key.preconditionerParams)"
    }

    /// The eval data's fingerprint, shortened: "eval 3f2a9c1b".
    static func eval(_ fingerprint: String) -> String {
        let hex = fingerprint.split(separator: ":").last.map(String.init) ?? ""
        return hex.isEmpty ? "no eval data" : "eval " + hex.prefix(8)
    }
}
