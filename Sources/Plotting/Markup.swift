import Foundation

/// Text for markup: the one escaping function of the plots and the dashboard's HTML.
public enum Markup {
    /// Text for XML/HTML character data and quoted attribute values: markup characters
    /// escaped, and characters XML 1.0 cannot hold at all (control characters) replaced by
    /// U+FFFD. `&apos;` is valid in both XML and HTML5.
    public static func escaped(_ text: String) -> String {
        // Most names and numbers need nothing: return them without building a new string.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<")
            || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") || $0 == 0xEF })
        else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Fixed-point decimal text, as `String(format: "%.<decimals>f")` writes it but without
/// Foundation's formatter, which dominates the time of drawing thousands of points.
public enum DecimalText {
    private static let scales: [Double] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]

    /// `value` rounded to `decimals` (0…6) places; the same text as `%.*f`, "-0.0" included.
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard decimals >= 0, decimals < scales.count, value.isFinite else { return String(format: "%.\(decimals)f", value) }
        let scaled = value * scales[decimals]
        let rounded = scaled.rounded(.toNearestOrEven)
        // A tie after scaling may not be one in the exact value (0.35 is 0.34999…): printf decides.
        guard abs(rounded) < 9e15, abs(scaled - rounded) != 0.5 else { return String(format: "%.\(decimals)f", value) }
        // Digits from the right into a small buffer: no intermediate strings.
        var units = UInt64(abs(rounded))
        let negative = value.sign == .minus
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var i = buffer.count
            var written = 0
            repeat {
                if written == decimals, decimals > 0 {
                    i -= 1
                    buffer[i] = UInt8(ascii: ".")
                }
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(units % 10)
                units /= 10
                written += 1
            } while units > 0 || written <= decimals
            if negative {
                i -= 1
                buffer[i] = UInt8(ascii: "-")
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[i...]), as: UTF8.self)
        }
    }
}
