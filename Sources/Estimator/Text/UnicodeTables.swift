/// The Unicode facts the tokenizer pipeline tests, as the `tokenizers` library sees them.
///
/// Swift's standard library carries Unicode 17 data; the library's regex engine (Oniguruma) and
/// Rust's `char` methods use Unicode 16. A scalar assigned after 16.0 is treated as unassigned
/// here, which makes `\p{L}`, `\p{N}`, `\s`, `\d` and the other classes agree with Oniguruma on
/// every scalar (checked exhaustively against tokenizers 0.23.3).
enum UnicodeTables {
    /// General categories as bits of a mask, in `Unicode.GeneralCategory` order.
    enum Category: UInt8, CaseIterable {
        case Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No, Pc, Pd, Ps, Pe, Pi, Pf, Po, Sm, Sc, Sk, So, Zs, Zl, Zp, Cc, Cf, Cs, Co, Cn

        var bit: UInt32 { 1 << UInt32(rawValue) }

        init(_ category: Unicode.GeneralCategory) {
            switch category {
            case .uppercaseLetter: self = .Lu
            case .lowercaseLetter: self = .Ll
            case .titlecaseLetter: self = .Lt
            case .modifierLetter: self = .Lm
            case .otherLetter: self = .Lo
            case .nonspacingMark: self = .Mn
            case .spacingMark: self = .Mc
            case .enclosingMark: self = .Me
            case .decimalNumber: self = .Nd
            case .letterNumber: self = .Nl
            case .otherNumber: self = .No
            case .connectorPunctuation: self = .Pc
            case .dashPunctuation: self = .Pd
            case .openPunctuation: self = .Ps
            case .closePunctuation: self = .Pe
            case .initialPunctuation: self = .Pi
            case .finalPunctuation: self = .Pf
            case .otherPunctuation: self = .Po
            case .mathSymbol: self = .Sm
            case .currencySymbol: self = .Sc
            case .modifierSymbol: self = .Sk
            case .otherSymbol: self = .So
            case .spaceSeparator: self = .Zs
            case .lineSeparator: self = .Zl
            case .paragraphSeparator: self = .Zp
            case .control: self = .Cc
            case .format: self = .Cf
            case .surrogate: self = .Cs
            case .privateUse: self = .Co
            case .unassigned: self = .Cn
            @unknown default: self = .Cn
            }
        }
    }

    static let letters: UInt32 = Category.Lu.bit | Category.Ll.bit | Category.Lt.bit | Category.Lm.bit | Category.Lo.bit
    static let marks: UInt32 = Category.Mn.bit | Category.Mc.bit | Category.Me.bit
    static let numbers: UInt32 = Category.Nd.bit | Category.Nl.bit | Category.No.bit

    /// Whether `scalar` was assigned by Unicode 16.0 (the version the library's data has).
    static func isKnown(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major < 16 || (age.major == 16 && age.minor == 0)
    }

    /// The categories of the Basic Multilingual Plane, computed once.
    private static let planeZero: [UInt8] = (0..<0x10000).map { (value: UInt32) -> UInt8 in
        guard let scalar = Unicode.Scalar(value) else { return Category.Cs.rawValue }
        return computeCategory(scalar).rawValue
    }

    private static func computeCategory(_ scalar: Unicode.Scalar) -> Category {
        let category = Category(scalar.properties.generalCategory)
        if category == .Cn || category == .Co || category == .Cs { return category }
        return isKnown(scalar) ? category : .Cn
    }

    static func category(_ value: UInt32) -> Category {
        if value < 0x10000 { return Category(rawValue: planeZero[Int(value)])! }
        guard let scalar = Unicode.Scalar(value) else { return .Cn }
        return computeCategory(scalar)
    }

    static func categoryBit(_ value: UInt32) -> UInt32 { category(value).bit }

    /// Unicode White_Space (Rust's `char::is_whitespace`, Oniguruma's `\s`, the regex crate's `\s`).
    static func isWhitespace(_ value: UInt32) -> Bool {
        switch value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Rust's `char::is_numeric`: general category Nd, Nl or No.
    static func isNumeric(_ value: UInt32) -> Bool { categoryBit(value) & numbers != 0 }

    private static func isAlphabetic(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value), isKnown(scalar) else { return false }
        return scalar.properties.isAlphabetic
    }

    /// The regex crate's `\w` (UTS #18): Alphabetic, marks, decimal digits, connector punctuation
    /// and join controls. Added tokens' `single_word` looks at it.
    static func isWordUTS18(_ value: UInt32) -> Bool {
        if value < 0x80 { return isASCIIWord(value) }
        let bit = categoryBit(value)
        if bit & (marks | Category.Nd.bit | Category.Pc.bit) != 0 { return true }
        if value == 0x200C || value == 0x200D { return true }
        return isAlphabetic(value)
    }

    /// Oniguruma's `\w`: as UTS #18, except that its Latin-1 table also counts ² ³ ¹ ¼ ½ ¾.
    static func isWordOniguruma(_ value: UInt32) -> Bool {
        switch value {
        case 0xB2, 0xB3, 0xB9, 0xBC, 0xBD, 0xBE: true
        default: isWordUTS18(value)
        }
    }

    static func isASCIIWord(_ value: UInt32) -> Bool {
        (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A) || value == 0x5F
    }

    /// Scalars that are equal under simple case folding, for Oniguruma's `(?i)`: each scalar that
    /// changes when case-mapped, keyed by the lowercase of its uppercase (single-scalar mappings
    /// only). U+0131 (dotless i) folds only under Turkic rules, so it stays alone.
    private static let caseClasses: [UInt32: [UInt32]] = {
        var groups: [UInt32: [UInt32]] = [:]
        for value in UInt32(0)..<0x110000 {
            guard let scalar = Unicode.Scalar(value), scalar.properties.changesWhenCaseMapped, isKnown(scalar), value != 0x131 else { continue }
            let key = foldKey(scalar)
            groups[key, default: []].append(value)
        }
        var classes: [UInt32: [UInt32]] = [:]
        for (key, members) in groups {
            var all = members
            if !all.contains(key) { all.append(key) }
            guard all.count > 1 else { continue }
            for member in all { classes[member] = all }
        }
        return classes
    }()

    private static func foldKey(_ scalar: Unicode.Scalar) -> UInt32 {
        let upper = single(scalar.properties.uppercaseMapping) ?? scalar
        let lower = single(upper.properties.lowercaseMapping) ?? upper
        return lower.value
    }

    private static func single(_ mapping: String) -> Unicode.Scalar? {
        var iterator = mapping.unicodeScalars.makeIterator()
        guard let first = iterator.next(), iterator.next() == nil else { return nil }
        return first
    }

    /// The scalars equal to `value` ignoring case (including `value`); empty when there are none.
    static func caseVariants(_ value: UInt32) -> [UInt32] { caseClasses[value] ?? [] }

    /// Rust's `char::to_lowercase` (the full mapping), for scalars Unicode 16 knows.
    static func lowercase(_ scalar: Unicode.Scalar) -> String.UnicodeScalarView {
        if scalar.value < 0x80 {
            if scalar.value >= 0x41 && scalar.value <= 0x5A { return String(Unicode.Scalar(scalar.value + 32)!).unicodeScalars }
            return String(scalar).unicodeScalars
        }
        guard isKnown(scalar) else { return String(scalar).unicodeScalars }
        return scalar.properties.lowercaseMapping.unicodeScalars
    }
}
