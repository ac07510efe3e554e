/// A regular expression as Oniguruma reads it with its default (Ruby) syntax, which is how the
/// `tokenizers` library compiles `Split` and `Replace` patterns: the subset tokenizer files use.
///
/// Supported: literals and escapes (`\t \n \r \f \v \a \e \xHH \x{H…} \uHHHH` and escaped
/// punctuation), `.`, classes `[…]` with ranges and negation, `\s \S \d \D \w \W \h \H`,
/// `\p{…}`/`\P{…}`/`\p{^…}` for general categories, groups `(…)`, `(?:…)`, named groups,
/// option groups `(?i)`, `(?i:…)`, `(?m:…)`, `(?-i:…)`, lookahead `(?=…)`/`(?!…)`, atomic
/// groups `(?>…)`, quantifiers `? * + {n} {n,} {n,m} {,m}` (greedy, lazy `?`, possessive `+`),
/// anchors `^ $ \A \z \Z \b \B`. Anything else (lookbehind, back-references, scripts, POSIX
/// brackets, class intersection) is refused by name rather than approximated.
indirect enum PatternNode: Sendable {
    enum Anchor: Sendable { case lineStart, lineEnd, textStart, textEnd, textEndBeforeNewline, wordBoundary, notWordBoundary }
    enum Mode: Sendable { case greedy, lazy, possessive }

    case empty
    case set(ScalarSet)
    case sequence([PatternNode])
    case alternation([PatternNode])
    case repetition(PatternNode, min: Int, max: Int?, mode: Mode)
    case lookahead(PatternNode, negative: Bool)
    case atomic(PatternNode)
    case anchor(Anchor)

    /// Whether the node can match without consuming a scalar.
    var canBeEmpty: Bool {
        switch self {
        case .empty, .lookahead, .anchor: true
        case .set: false
        case .sequence(let items): items.allSatisfy(\.canBeEmpty)
        case .alternation(let items): items.contains { $0.canBeEmpty }
        case .repetition(let node, let min, _, _): min == 0 || node.canBeEmpty
        case .atomic(let node): node.canBeEmpty
        }
    }
}

struct PatternError: Error, Sendable {
    /// True when the pattern is valid but uses a construct this reader does not implement.
    let unsupported: Bool
    let message: String
}

struct PatternParser {
    static let maxLength = 1 << 16
    static let maxDepth = 64
    static let maxRepeat = 1000

    private let scalars: [UInt32]
    private var pos = 0
    private var depth = 0

    private init(_ source: String) {
        scalars = source.unicodeScalars.map(\.value)
    }

    static func parse(_ source: String) throws(PatternError) -> PatternNode {
        var parser = PatternParser(source)
        guard parser.scalars.count <= maxLength else {
            throw PatternError(unsupported: false, message: "pattern of \(parser.scalars.count) characters is longer than \(maxLength)")
        }
        var flags = Flags()
        let node = try parser.parseAlternation(flags: &flags)
        guard parser.pos == parser.scalars.count else { throw parser.fail("unmatched ')'") }
        return node
    }

    /// A pattern that matches `literal` exactly (Split's and Replace's string patterns).
    static func literal(_ literal: String) -> PatternNode {
        .sequence(literal.unicodeScalars.map { .set(.scalar($0.value)) })
    }

    struct Flags {
        var caseInsensitive = false
        var dotAll = false
    }

    private func fail(_ message: String) -> PatternError {
        PatternError(unsupported: false, message: "\(message) at character \(pos)")
    }

    private func unsupported(_ construct: String) -> PatternError {
        PatternError(unsupported: true, message: "\(construct) at character \(pos)")
    }

    private var atEnd: Bool { pos >= scalars.count }
    private func peek(_ offset: Int = 0) -> UInt32? { pos + offset < scalars.count ? scalars[pos + offset] : nil }
    private func isChar(_ value: UInt32?, _ c: Unicode.Scalar) -> Bool { value == c.value }

    private mutating func parseAlternation(flags: inout Flags) throws(PatternError) -> PatternNode {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("groups nested deeper than \(Self.maxDepth)") }
        var branches: [PatternNode] = []
        var current: [PatternNode] = []
        while !atEnd {
            let c = scalars[pos]
            if c == ascii("|") {
                pos += 1
                branches.append(.sequence(current))
                current = []
                continue
            }
            if c == ascii(")") { break }
            if c == ascii("("), isChar(peek(1), "?"), let options = try parseInlineOptions() {
                // `(?i)` applies to the rest of the enclosing group.
                apply(options, to: &flags)
                continue
            }
            var atom = try parseAtom(flags: flags)
            atom = try parseQuantifiers(atom)
            current.append(atom)
        }
        if branches.isEmpty { return .sequence(current) }
        branches.append(.sequence(current))
        return .alternation(branches)
    }

    private struct Options { var on: [UInt32]; var off: [UInt32] }

    private func apply(_ options: Options, to flags: inout Flags) {
        for o in options.on {
            if o == ascii("i") { flags.caseInsensitive = true }
            if o == ascii("m") { flags.dotAll = true }
        }
        for o in options.off {
            if o == ascii("i") { flags.caseInsensitive = false }
            if o == ascii("m") { flags.dotAll = false }
        }
    }

    /// `(?imx-imx)` standing alone; nil (position unchanged) when the group is something else.
    private mutating func parseInlineOptions() throws(PatternError) -> Options? {
        var i = pos + 2
        var on: [UInt32] = [], off: [UInt32] = []
        var negative = false
        while i < scalars.count {
            let c = scalars[i]
            if c == ascii(")") {
                guard i > pos + 2 else { return nil }
                pos = i + 1
                try checkOptions(on + off)
                return Options(on: on, off: off)
            }
            if c == ascii("-") { negative = true; i += 1; continue }
            guard c == ascii("i") || c == ascii("m") || c == ascii("x") else { return nil }
            if negative { off.append(c) } else { on.append(c) }
            i += 1
        }
        return nil
    }

    private func checkOptions(_ options: [UInt32]) throws(PatternError) {
        if options.contains(ascii("x")) { throw unsupported("extended mode (?x)") }
    }

    private mutating func parseGroup(flags: Flags) throws(PatternError) -> PatternNode {
        pos += 1 // (
        var inner = flags
        var kind = 0 // 0 group, 1 lookahead, 2 negative lookahead, 3 atomic
        if isChar(peek(), "?") {
            pos += 1
            guard let c = peek() else { throw fail("unterminated group") }
            switch c {
            case ascii(":"): pos += 1
            case ascii("="): pos += 1; kind = 1
            case ascii("!"): pos += 1; kind = 2
            case ascii(">"): pos += 1; kind = 3
            case ascii("#"):
                while let d = peek(), d != ascii(")") { pos += 1 }
                guard !atEnd else { throw fail("unterminated comment") }
                pos += 1
                return .empty
            case ascii("<"):
                if isChar(peek(1), "=") || isChar(peek(1), "!") { throw unsupported("lookbehind") }
                try skipGroupName(until: ">")
            case ascii("'"):
                try skipGroupName(until: "'")
            case ascii("i"), ascii("m"), ascii("x"), ascii("-"):
                var on: [UInt32] = [], off: [UInt32] = []
                var negative = false
                while let d = peek(), d != ascii(":") {
                    if d == ascii("-") { negative = true } else if d == ascii("i") || d == ascii("m") || d == ascii("x") {
                        if negative { off.append(d) } else { on.append(d) }
                    } else {
                        throw fail("invalid group option")
                    }
                    pos += 1
                }
                guard !atEnd else { throw fail("unterminated group") }
                pos += 1
                try checkOptions(on + off)
                apply(Options(on: on, off: off), to: &inner)
            default:
                throw unsupported("group (?\(String(Unicode.Scalar(c).map(Character.init) ?? "?"))")
            }
        }
        let body = try parseAlternation(flags: &inner)
        guard isChar(peek(), ")") else { throw fail("missing ')'") }
        pos += 1
        switch kind {
        case 1: return .lookahead(body, negative: false)
        case 2: return .lookahead(body, negative: true)
        case 3: return .atomic(body)
        default: return body
        }
    }

    private mutating func skipGroupName(until terminator: Unicode.Scalar) throws(PatternError) {
        pos += 1
        while let c = peek(), c != terminator.value { pos += 1 }
        guard !atEnd else { throw fail("unterminated group name") }
        pos += 1
    }

    private mutating func parseAtom(flags: Flags) throws(PatternError) -> PatternNode {
        let c = scalars[pos]
        switch c {
        case ascii("("): return try parseGroup(flags: flags)
        case ascii("["):
            return .set(try parseClass(flags: flags))
        case ascii("."):
            pos += 1
            return .set(flags.dotAll ? ScalarSet([.any]) : ScalarSet([.range(0x0A, 0x0A)], negated: true))
        case ascii("^"): pos += 1; return .anchor(.lineStart)
        case ascii("$"): pos += 1; return .anchor(.lineEnd)
        case ascii("*"), ascii("+"), ascii("?"):
            throw fail("target of repeat operator is not specified")
        case ascii("\\"):
            pos += 1
            guard let e = peek() else { throw fail("pattern ends with '\\'") }
            switch e {
            case ascii("A"): pos += 1; return .anchor(.textStart)
            case ascii("z"): pos += 1; return .anchor(.textEnd)
            case ascii("Z"): pos += 1; return .anchor(.textEndBeforeNewline)
            case ascii("b"): pos += 1; return .anchor(.wordBoundary)
            case ascii("B"): pos += 1; return .anchor(.notWordBoundary)
            default:
                let item = try parseEscape(inClass: false)
                return .set(setOf(item, flags: flags))
            }
        default:
            pos += 1
            return .set(.scalar(c, caseInsensitive: flags.caseInsensitive))
        }
    }

    private func setOf(_ escape: Escape, flags: Flags) -> ScalarSet {
        switch escape {
        case .scalar(let v): .scalar(v, caseInsensitive: flags.caseInsensitive)
        case .set(let set): set
        }
    }

    private enum Escape { case scalar(UInt32); case set(ScalarSet) }

    /// After a backslash (consumed).
    private mutating func parseEscape(inClass: Bool) throws(PatternError) -> Escape {
        let e = scalars[pos]
        pos += 1
        switch e {
        case ascii("t"): return .scalar(0x09)
        case ascii("n"): return .scalar(0x0A)
        case ascii("r"): return .scalar(0x0D)
        case ascii("f"): return .scalar(0x0C)
        case ascii("v"): return .scalar(0x0B)
        case ascii("a"): return .scalar(0x07)
        case ascii("e"): return .scalar(0x1B)
        case ascii("0"):
            var value: UInt32 = 0
            var n = 0
            while n < 2, let d = peek(), d >= ascii("0"), d <= ascii("7") { value = value * 8 + d - 0x30; pos += 1; n += 1 }
            return .scalar(value)
        case ascii("x"):
            if isChar(peek(), "{") {
                pos += 1
                let value = try hexDigits(max: 8)
                guard isChar(peek(), "}") else { throw fail("invalid \\x{...} escape") }
                pos += 1
                return .scalar(try validScalar(value))
            }
            return .scalar(try hexDigits(max: 2))
        case ascii("u"):
            let start = pos
            let value = try hexDigits(max: 4)
            guard pos - start == 4 else { throw fail("invalid \\u escape") }
            return .scalar(try validScalar(value))
        case ascii("s"): return .set(ScalarSet([.whitespace]))
        case ascii("S"): return .set(ScalarSet([.whitespace], negated: true))
        case ascii("d"): return .set(ScalarSet([.categories(UnicodeTables.Category.Nd.bit)]))
        case ascii("D"): return .set(ScalarSet([.categories(UnicodeTables.Category.Nd.bit)], negated: true))
        case ascii("w"): return .set(ScalarSet([.word]))
        case ascii("W"): return .set(ScalarSet([.word], negated: true))
        case ascii("h"): return .set(ScalarSet([.hexDigit]))
        case ascii("H"): return .set(ScalarSet([.hexDigit], negated: true))
        case ascii("p"), ascii("P"):
            return .set(try parseProperty(negated: e == ascii("P")))
        case ascii("b") where inClass: return .scalar(0x08)
        default:
            if (e >= ascii("a") && e <= ascii("z")) || (e >= ascii("A") && e <= ascii("Z")) || (e >= ascii("1") && e <= ascii("9")) {
                pos -= 1
                throw unsupported("escape \\\(String(Character(Unicode.Scalar(e)!)))")
            }
            return .scalar(e)
        }
    }

    private func validScalar(_ value: UInt32) throws(PatternError) -> UInt32 {
        guard Unicode.Scalar(value) != nil else { throw fail("invalid code point") }
        return value
    }

    private mutating func hexDigits(max: Int) throws(PatternError) -> UInt32 {
        var value: UInt32 = 0
        var n = 0
        while n < max, let d = peek() {
            let digit: UInt32
            switch d {
            case 0x30...0x39: digit = d - 0x30
            case 0x41...0x46: digit = d - 0x41 + 10
            case 0x61...0x66: digit = d - 0x61 + 10
            default: digit = 16
            }
            if digit == 16 { break }
            value = value * 16 + digit
            pos += 1
            n += 1
        }
        guard n > 0 else { throw fail("invalid hexadecimal escape") }
        return value
    }

    private static let propertyMasks: [String: UInt32] = {
        typealias C = UnicodeTables.Category
        var masks: [String: UInt32] = [:]
        for c in C.allCases { masks[String(describing: c).lowercased()] = c.bit }
        let letters = UnicodeTables.letters, marks = UnicodeTables.marks, numbers = UnicodeTables.numbers
        let punctuation = C.Pc.bit | C.Pd.bit | C.Ps.bit | C.Pe.bit | C.Pi.bit | C.Pf.bit | C.Po.bit
        let symbols = C.Sm.bit | C.Sc.bit | C.Sk.bit | C.So.bit
        let separators = C.Zs.bit | C.Zl.bit | C.Zp.bit
        let other = C.Cc.bit | C.Cf.bit | C.Cs.bit | C.Co.bit | C.Cn.bit
        let cased = C.Lu.bit | C.Ll.bit | C.Lt.bit
        let named: [(String, UInt32)] = [
            ("l", letters), ("letter", letters), ("m", marks), ("mark", marks), ("combiningmark", marks),
            ("n", numbers), ("number", numbers), ("p", punctuation), ("punctuation", punctuation),
            ("s", symbols), ("symbol", symbols), ("z", separators), ("separator", separators),
            ("c", other), ("other", other), ("lc", cased), ("l&", cased), ("casedletter", cased),
            ("uppercaseletter", C.Lu.bit), ("lowercaseletter", C.Ll.bit), ("titlecaseletter", C.Lt.bit),
            ("modifierletter", C.Lm.bit), ("otherletter", C.Lo.bit), ("nonspacingmark", C.Mn.bit),
            ("spacingmark", C.Mc.bit), ("enclosingmark", C.Me.bit), ("decimalnumber", C.Nd.bit),
            ("digit", C.Nd.bit), ("letternumber", C.Nl.bit), ("othernumber", C.No.bit),
            ("connectorpunctuation", C.Pc.bit), ("dashpunctuation", C.Pd.bit), ("openpunctuation", C.Ps.bit),
            ("closepunctuation", C.Pe.bit), ("initialpunctuation", C.Pi.bit), ("finalpunctuation", C.Pf.bit),
            ("otherpunctuation", C.Po.bit), ("mathsymbol", C.Sm.bit), ("currencysymbol", C.Sc.bit),
            ("modifiersymbol", C.Sk.bit), ("othersymbol", C.So.bit), ("spaceseparator", C.Zs.bit),
            ("lineseparator", C.Zl.bit), ("paragraphseparator", C.Zp.bit), ("control", C.Cc.bit),
            ("format", C.Cf.bit), ("surrogate", C.Cs.bit), ("privateuse", C.Co.bit), ("unassigned", C.Cn.bit),
        ]
        for (name, mask) in named { masks[name] = mask }
        return masks
    }()

    private mutating func parseProperty(negated: Bool) throws(PatternError) -> ScalarSet {
        guard isChar(peek(), "{") else { throw unsupported("one-letter property escape without braces") }
        pos += 1
        var negate = negated
        if isChar(peek(), "^") { negate.toggle(); pos += 1 }
        var name = ""
        while let c = peek(), c != ascii("}") {
            pos += 1
            if c == ascii(" ") || c == ascii("_") || c == ascii("-") { continue }
            name.unicodeScalars.append(Unicode.Scalar(c) ?? "?")
            guard name.unicodeScalars.count <= 64 else { throw fail("property name too long") }
        }
        guard !atEnd else { throw fail("unterminated property name") }
        pos += 1
        let key = name.lowercased()
        let item: ScalarSet.Item
        if let mask = Self.propertyMasks[key] {
            item = .categories(mask)
        } else if key == "any" {
            item = .any
        } else if key == "whitespace" || key == "space" {
            item = .whitespace
        } else if key == "ascii" {
            item = .range(0, 0x7F)
        } else {
            throw unsupported("property \\p{\(name)}")
        }
        return ScalarSet([item], negated: negate)
    }

    private mutating func parseClass(flags: Flags) throws(PatternError) -> ScalarSet {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maxDepth else { throw fail("classes nested deeper than \(Self.maxDepth)") }
        pos += 1 // [
        var negated = false
        if isChar(peek(), "^") { negated = true; pos += 1 }
        var items: [ScalarSet.Item] = []
        var nested: [ScalarSet] = []
        var first = true
        while true {
            guard let c = peek() else { throw fail("premature end of char-class") }
            if c == ascii("]") && !first { pos += 1; break }
            first = false
            if c == ascii("["), isChar(peek(1), ":") { throw unsupported("POSIX bracket expression") }
            if c == ascii("&"), isChar(peek(1), "&") { throw unsupported("class intersection &&") }
            if c == ascii("[") {
                nested.append(try parseClass(flags: flags))
                items.append(.nested(nested.count - 1))
                continue
            }
            let low: Escape
            if c == ascii("\\") {
                pos += 1
                guard !atEnd else { throw fail("premature end of char-class") }
                low = try parseEscape(inClass: true)
            } else {
                pos += 1
                low = .scalar(c)
            }
            guard case .scalar(let lowValue) = low else {
                if case .set(let set) = low {
                    nested.append(set)
                    items.append(.nested(nested.count - 1))
                }
                continue
            }
            // A range `a-z`, unless '-' ends the class.
            if isChar(peek(), "-"), let next = peek(1), next != ascii("]") {
                pos += 1
                let high: UInt32
                if next == ascii("\\") {
                    pos += 1
                    guard !atEnd else { throw fail("premature end of char-class") }
                    guard case .scalar(let h) = try parseEscape(inClass: true) else { throw fail("char-class value at end of range") }
                    high = h
                } else if next == ascii("[") {
                    throw fail("char-class value at end of range")
                } else {
                    pos += 1
                    high = next
                }
                guard lowValue <= high else { throw fail("empty range in char class") }
                items.append(.range(lowValue, high))
            } else {
                items.append(.range(lowValue, lowValue))
            }
        }
        return ScalarSet(items, nested: nested, negated: negated, caseInsensitive: flags.caseInsensitive)
    }

    private mutating func parseQuantifiers(_ atom: PatternNode) throws(PatternError) -> PatternNode {
        var node = atom
        while let c = peek() {
            var min = 0, max: Int? = nil
            switch c {
            case ascii("*"): pos += 1
            case ascii("+"): pos += 1; min = 1
            case ascii("?"): pos += 1; max = 1
            case ascii("{"):
                guard let interval = try parseInterval() else { return node }
                (min, max) = interval
            default: return node
            }
            if case .anchor = node { throw fail("target of repeat operator is invalid") }
            var mode = PatternNode.Mode.greedy
            let isInterval = c == ascii("{")
            if isChar(peek(), "?") {
                pos += 1
                mode = .lazy
            } else if isChar(peek(), "+"), !isInterval {
                // Ruby syntax: `{n,m}+` repeats again; `*+ ++ ?+` are possessive.
                pos += 1
                mode = .possessive
            }
            node = .repetition(node, min: min, max: max, mode: mode)
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}`, `{,m}`; nil (nothing consumed) when the brace is a literal.
    private mutating func parseInterval() throws(PatternError) -> (Int, Int?)? {
        var i = pos + 1
        func number() -> Int? {
            var value = 0, n = 0
            while i < scalars.count, scalars[i] >= 0x30, scalars[i] <= 0x39 {
                value = Swift.min(value * 10 + Int(scalars[i] - 0x30), 100_000)
                i += 1
                n += 1
            }
            return n > 0 ? value : nil
        }
        let low = number()
        var high: Int?
        if i < scalars.count, scalars[i] == ascii(",") {
            i += 1
            high = number()
            guard low != nil || high != nil else { return nil }
        } else {
            guard let low else { return nil }
            high = low
        }
        guard i < scalars.count, scalars[i] == ascii("}") else { return nil }
        let min = low ?? 0
        if let high, high < min { return nil }
        guard min <= Self.maxRepeat, (high ?? 0) <= Self.maxRepeat else { throw fail("repeat count above \(Self.maxRepeat)") }
        pos = i + 1
        return (min, high)
    }
}

@inline(__always)
private func ascii(_ scalar: Unicode.Scalar) -> UInt32 { scalar.value }
