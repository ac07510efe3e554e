/// A set of Unicode scalars a pattern tests one scalar against: a character class, an escape such
/// as `\s` or `\p{L}`, or a literal (with its case variants under `(?i)`).
struct ScalarSet: Sendable {
    enum Item: Sendable {
        case range(UInt32, UInt32)
        /// General categories, as a mask of `UnicodeTables.Category` bits.
        case categories(UInt32)
        case whitespace
        /// Oniguruma's `\w`.
        case word
        case hexDigit
        case any
        /// `nested[i]`: a negated escape or a class inside a class. (An index, not the set,
        /// so that no heap reference hides in an enum payload.)
        case nested(Int)
    }

    var items: [Item]
    var nested: [ScalarSet]
    var negated: Bool
    /// `(?i)`: a scalar belongs when it or one of its case variants is in `items`.
    var caseInsensitive: Bool
    /// Membership of the ASCII scalars, computed once.
    private var asciiLow: UInt64 = 0
    private var asciiHigh: UInt64 = 0

    init(_ items: [Item], nested: [ScalarSet] = [], negated: Bool = false, caseInsensitive: Bool = false) {
        self.items = items
        self.nested = nested
        self.negated = negated
        self.caseInsensitive = caseInsensitive
        for value in UInt32(0)..<128 where slowContains(value) {
            if value < 64 { asciiLow |= 1 << UInt64(value) } else { asciiHigh |= 1 << UInt64(value - 64) }
        }
    }

    static func scalar(_ value: UInt32, caseInsensitive: Bool = false) -> ScalarSet {
        ScalarSet([.range(value, value)], caseInsensitive: caseInsensitive && !UnicodeTables.caseVariants(value).isEmpty)
    }

    @inline(__always)
    func contains(_ value: UInt32) -> Bool {
        if value < 64 { return asciiLow & (1 << UInt64(value)) != 0 }
        if value < 128 { return asciiHigh & (1 << UInt64(value - 64)) != 0 }
        return slowContains(value)
    }

    private func slowContains(_ value: UInt32) -> Bool {
        var found = rawContains(value)
        if !found && caseInsensitive {
            found = UnicodeTables.caseVariants(value).contains { $0 != value && rawContains($0) }
        }
        return found != negated
    }

    private func rawContains(_ value: UInt32) -> Bool {
        for item in items {
            switch item {
            case .range(let low, let high): if value >= low && value <= high { return true }
            case .categories(let mask): if UnicodeTables.categoryBit(value) & mask != 0 { return true }
            case .whitespace: if UnicodeTables.isWhitespace(value) { return true }
            case .word: if UnicodeTables.isWordOniguruma(value) { return true }
            case .hexDigit:
                if (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x46) || (value >= 0x61 && value <= 0x66) { return true }
            case .any: return true
            case .nested(let i): if nested[i].contains(value) { return true }
            }
        }
        return false
    }
}
