/// A check that text is TOML 1.0 (toml.io/en/v1.0.0 and its ABNF), building no values.
///
/// It exists because the parser inside TOMLKit (toml++ 3.4.0) asserts instead of reporting an
/// error on some malformed input, which aborts the process: see `TOMLDocument`. Only the
/// grammar is checked here; what needs the values (duplicate keys, redefined tables, integers
/// out of range) is left to toml++, which reports those as errors.
struct TOMLSyntax {
    /// Arrays and inline tables nested deeper are refused (toml++ allows 256).
    static let maxDepth = 100

    private let text: [UInt8]
    /// Where line 1 starts: after a byte-order mark, if there is one.
    private let start: Int
    private var i: Int
    private var depth = 0

    private init(_ text: [UInt8]) {
        self.text = text
        start = text.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        i = start
    }

    static func validate(_ text: [UInt8]) throws(TOMLDocument.SyntaxError) {
        var syntax = TOMLSyntax(text)
        try syntax.document()
    }

    // MARK: Lines

    private mutating func document() throws(TOMLDocument.SyntaxError) {
        while i < text.count {
            skipSpaces()
            var expected = "expected a key, a [table] header, a comment or the end of the line"
            if at("[") {
                try tableHeader()
                expected = "expected a comment or the end of the line after the table header"
            } else if let c = current, isBareKey(c) || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                try keyValue()
                expected = "expected a comment or the end of the line after the value"
            }
            skipSpaces()
            if at("#") { try comment() }
            guard i < text.count else { return }
            try lineBreak(orFail: expected)
        }
    }

    private mutating func tableHeader() throws(TOMLDocument.SyntaxError) {
        i += 1
        let isArray = at("[")
        if isArray { i += 1 }
        skipSpaces()
        try key()
        skipSpaces()
        try expect("]", "']' to close the table header")
        if isArray { try expect("]", "']]' to close the array-of-tables header") }
    }

    private mutating func keyValue() throws(TOMLDocument.SyntaxError) {
        try key()
        skipSpaces()
        try expect("=", "'=' after the key")
        skipSpaces()
        try value()
    }

    /// A bare, quoted or dotted key.
    private mutating func key() throws(TOMLDocument.SyntaxError) {
        while true {
            if at("\"\"\"") || at("'''") {
                throw fail("multi-line strings cannot be keys")
            } else if at("\"") {
                try basicString()
            } else if at("'") {
                try literalString()
            } else if let c = current, isBareKey(c) {
                while let c = current, isBareKey(c) { i += 1 }
            } else {
                throw fail("expected a key (letters, digits, '_', '-' or a quoted string), saw \(seen)")
            }
            let afterSegment = i
            skipSpaces()
            guard at(".") else {
                i = afterSegment
                return
            }
            i += 1
            skipSpaces()
        }
    }

    // MARK: Values

    private mutating func value() throws(TOMLDocument.SyntaxError) {
        guard let c = current else { throw fail("expected a value, saw \(seen)") }
        switch c {
        case UInt8(ascii: "\""):
            try at("\"\"\"") ? multiLineBasicString() : basicString()
        case UInt8(ascii: "'"):
            try at("'''") ? multiLineLiteralString() : literalString()
        case UInt8(ascii: "["):
            try array()
        case UInt8(ascii: "{"):
            try inlineTable()
        case UInt8(ascii: "t"):
            try word("true")
        case UInt8(ascii: "f"):
            try word("false")
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "i"), UInt8(ascii: "n"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if digits(at: 0, count: 4), at("-", offset: 4) {
                try dateTime()
            } else if digits(at: 0, count: 2), at(":", offset: 2) {
                try time()
            } else {
                try number()
            }
        default:
            throw fail("expected a value (a string, number, boolean, date, array or inline table), saw \(seen)")
        }
    }

    /// Opens an array or inline table; the caller closes it with `depth -= 1`.
    private mutating func enterNested() throws(TOMLDocument.SyntaxError) {
        guard depth < Self.maxDepth else {
            throw fail("arrays and inline tables are nested more than \(Self.maxDepth) deep")
        }
        depth += 1
        i += 1
    }

    /// `[ value, value, ]` over any number of lines, with comments.
    private mutating func array() throws(TOMLDocument.SyntaxError) {
        try enterNested()
        defer { depth -= 1 }
        while true {
            try skipBlankLines()
            if at("]") { break }
            try value()
            try skipBlankLines()
            if at(",") {
                i += 1
            } else if at("]") {
                break
            } else {
                throw fail("expected ',' or ']' after an array element, saw \(seen)")
            }
        }
        i += 1
    }

    /// `{ key = value, key = value }` on one line, without a trailing comma.
    private mutating func inlineTable() throws(TOMLDocument.SyntaxError) {
        try enterNested()
        defer { depth -= 1 }
        skipSpaces()
        if at("}") {
            i += 1
            return
        }
        while true {
            try keyValue()
            skipSpaces()
            if at(",") {
                i += 1
                skipSpaces()
            } else if at("}") {
                i += 1
                return
            } else {
                throw fail("expected ',' or '}' in an inline table (which must fit on one line), saw \(seen)")
            }
        }
    }

    private mutating func word(_ w: String) throws(TOMLDocument.SyntaxError) {
        guard at(w) else { throw fail("expected '\(w)'") }
        i += w.utf8.count
    }

    /// Decimal integers and floats (with optional sign, underscores between digits, `inf`,
    /// `nan`), and unsigned hexadecimal, octal and binary integers.
    private mutating func number() throws(TOMLDocument.SyntaxError) {
        let signed = at("+") || at("-")
        if signed { i += 1 }
        if at("inf") || at("nan") {
            i += 3
            return
        }
        if !signed, at("0x") || at("0o") || at("0b") {
            let radix: Int = at("0x") ? 16 : at("0o") ? 8 : 2
            i += 2
            try digitGroups(radix: radix, what: "integer")
            return
        }
        if at("0") {
            i += 1
            if let c = current, isDigit(c) || c == UInt8(ascii: "_") {
                throw fail("integers cannot have leading zeros")
            }
        } else {
            try digitGroups(radix: 10, what: "number")
        }
        if at(".") {
            i += 1
            try digitGroups(radix: 10, what: "fraction")
        }
        if at("e") || at("E") {
            i += 1
            if at("+") || at("-") { i += 1 }
            try digitGroups(radix: 10, what: "exponent")
        }
    }

    /// Digits with single underscores between them.
    private mutating func digitGroups(radix: Int, what: String) throws(TOMLDocument.SyntaxError) {
        guard let c = current, isDigit(c, radix: radix) else { throw fail("expected a digit in the \(what), saw \(seen)") }
        i += 1
        while let c = current {
            if isDigit(c, radix: radix) {
                i += 1
            } else if c == UInt8(ascii: "_"), let next = byte(at: 1), isDigit(next, radix: radix) {
                i += 2
            } else {
                break
            }
        }
    }

    /// `YYYY-MM-DD`, optionally followed by `T` (or a space) and a time, and then optionally by
    /// `Z` or a `±HH:MM` offset.
    private mutating func dateTime() throws(TOMLDocument.SyntaxError) {
        try field(4, 0...9999, "year")
        try expect("-", "'-' in the date")
        try field(2, 1...12, "month")
        try expect("-", "'-' in the date")
        try field(2, 1...31, "day")
        if at("T") || at("t") || (at(" ") && digits(at: 1, count: 2) && at(":", offset: 3)) {
            i += 1
            try time()
            if at("Z") || at("z") {
                i += 1
            } else if at("+") || at("-") {
                i += 1
                try field(2, 0...23, "offset hour")
                try expect(":", "':' in the time offset")
                try field(2, 0...59, "offset minute")
            }
        }
    }

    /// `HH:MM:SS` with optional fractional seconds.
    private mutating func time() throws(TOMLDocument.SyntaxError) {
        try field(2, 0...23, "hour")
        try expect(":", "':' in the time")
        try field(2, 0...59, "minute")
        try expect(":", "':' and seconds in the time")
        try field(2, 0...60, "second")
        if at(".") {
            i += 1
            guard let c = current, isDigit(c) else { throw fail("expected digits after '.' in the time, saw \(seen)") }
            while let c = current, isDigit(c) { i += 1 }
        }
    }

    /// Exactly `count` decimal digits whose value lies in `range`.
    private mutating func field(_ count: Int, _ range: ClosedRange<Int>, _ what: String) throws(TOMLDocument.SyntaxError) {
        guard digits(at: 0, count: count) else { throw fail("expected \(count) digits for the \(what), saw \(seen)") }
        let value = text[i..<(i + count)].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard range.contains(value) else { throw fail("the \(what) \(value) is out of range") }
        i += count
    }

    // MARK: Strings

    /// `"…"` with escapes, on one line.
    private mutating func basicString() throws(TOMLDocument.SyntaxError) {
        i += 1
        while let c = current {
            if c == UInt8(ascii: "\"") {
                i += 1
                return
            } else if c == UInt8(ascii: "\\") {
                try escape()
            } else {
                try textCharacter(in: "a string")
            }
        }
        throw fail("the string is not closed before the end of the file")
    }

    /// `"""…"""` with escapes and line breaks; a backslash at the end of a line trims it.
    private mutating func multiLineBasicString() throws(TOMLDocument.SyntaxError) {
        i += 3
        while let c = current {
            if at("\"\"\"") {
                try closeMultiLine(quote: UInt8(ascii: "\""))
                return
            } else if c == UInt8(ascii: "\\") {
                var j = i + 1
                while j < text.count, text[j] == UInt8(ascii: " ") || text[j] == UInt8(ascii: "\t") { j += 1 }
                if j < text.count, text[j] == UInt8(ascii: "\n") || text[j] == UInt8(ascii: "\r") {
                    i = j
                    try lineBreak(orFail: "expected a line break after '\\' and spaces")
                } else {
                    try escape()
                }
            } else if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                try lineBreak(orFail: "expected a line break")
            } else {
                try textCharacter(in: "a string")
            }
        }
        throw fail("the multi-line string is not closed before the end of the file")
    }

    /// `'…'`, verbatim, on one line.
    private mutating func literalString() throws(TOMLDocument.SyntaxError) {
        i += 1
        while let c = current {
            if c == UInt8(ascii: "'") {
                i += 1
                return
            }
            try textCharacter(in: "a string")
        }
        throw fail("the string is not closed before the end of the file")
    }

    /// `'''…'''`, verbatim, with line breaks.
    private mutating func multiLineLiteralString() throws(TOMLDocument.SyntaxError) {
        i += 3
        while let c = current {
            if at("'''") {
                try closeMultiLine(quote: UInt8(ascii: "'"))
                return
            } else if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                try lineBreak(orFail: "expected a line break")
            } else {
                try textCharacter(in: "a string")
            }
        }
        throw fail("the multi-line string is not closed before the end of the file")
    }

    /// Three to five quotes: up to two belong to the content, the last three close it.
    private mutating func closeMultiLine(quote: UInt8) throws(TOMLDocument.SyntaxError) {
        var run = 0
        while let c = current, c == quote {
            run += 1
            i += 1
        }
        guard run <= 5 else { throw fail("too many quotes at the end of a multi-line string") }
    }

    /// `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`; the code point must be a Unicode scalar value.
    private mutating func escape() throws(TOMLDocument.SyntaxError) {
        i += 1
        guard let c = current else { throw fail("the string is not closed before the end of the file") }
        switch c {
        case UInt8(ascii: "b"), UInt8(ascii: "t"), UInt8(ascii: "n"), UInt8(ascii: "f"), UInt8(ascii: "r"),
             UInt8(ascii: "\""), UInt8(ascii: "\\"):
            i += 1
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = c == UInt8(ascii: "u") ? 4 : 8
            i += 1
            var scalar: UInt32 = 0
            for _ in 0..<count {
                guard let h = current, let v = hexValue(h) else {
                    throw fail("expected \(count) hexadecimal digits in a \\\(Character(Unicode.Scalar(c))) escape, saw \(seen)")
                }
                scalar = scalar << 4 | v
                i += 1
            }
            guard Unicode.Scalar(scalar) != nil else { throw fail("escape names U+\(String(scalar, radix: 16, uppercase: true)), which is not a Unicode scalar value") }
        default:
            throw fail("unknown escape '\\\(Character(Unicode.Scalar(c)))' in a string")
        }
    }

    /// One character of string content (UTF-8 bytes pass one at a time): no control characters
    /// but tab, no line break.
    private mutating func textCharacter(in what: String) throws(TOMLDocument.SyntaxError) {
        guard let c = current, !isControl(c) else {
            throw fail(at("\n") || at("\r") ? "\(what) is not closed before the end of the line" : "control character \(seen) in \(what)")
        }
        i += 1
    }

    // MARK: Spaces, comments, line breaks

    private mutating func skipSpaces() {
        while at(" ") || at("\t") { i += 1 }
    }

    /// Spaces, comments and line breaks between array elements.
    private mutating func skipBlankLines() throws(TOMLDocument.SyntaxError) {
        while true {
            skipSpaces()
            if at("#") {
                try comment()
            } else if at("\n") || at("\r") {
                try lineBreak(orFail: "expected a line break")
            } else {
                return
            }
        }
    }

    /// `#` to the end of the line; no control characters but tab.
    private mutating func comment() throws(TOMLDocument.SyntaxError) {
        i += 1
        while let c = current, c != UInt8(ascii: "\n"), c != UInt8(ascii: "\r") {
            try textCharacter(in: "a comment")
        }
    }

    /// `\n` or `\r\n`.
    private mutating func lineBreak(orFail message: String) throws(TOMLDocument.SyntaxError) {
        if at("\n") {
            i += 1
        } else if at("\r\n") {
            i += 2
        } else {
            throw fail("\(message), saw \(seen)")
        }
    }

    // MARK: Bytes

    private var current: UInt8? { i < text.count ? text[i] : nil }

    private func byte(at offset: Int) -> UInt8? {
        i + offset < text.count ? text[i + offset] : nil
    }

    private func at(_ s: Unicode.Scalar, offset: Int = 0) -> Bool {
        byte(at: offset) == UInt8(ascii: s)
    }

    private func at(_ s: String) -> Bool {
        text[i...].starts(with: s.utf8)
    }

    private func digits(at offset: Int, count: Int) -> Bool {
        (0..<count).allSatisfy { byte(at: offset + $0).map { isDigit($0) } ?? false }
    }

    private mutating func expect(_ s: Unicode.Scalar, _ what: String) throws(TOMLDocument.SyntaxError) {
        guard at(s) else { throw fail("expected \(what), saw \(seen)") }
        i += 1
    }

    private func isBareKey(_ c: UInt8) -> Bool {
        isDigit(c) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(c)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
    }

    private func isDigit(_ c: UInt8, radix: Int = 10) -> Bool {
        hexValue(c).map { Int($0) < radix } ?? false
    }

    private func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private func isControl(_ c: UInt8) -> Bool {
        (c < 0x20 && c != UInt8(ascii: "\t")) || c == 0x7F
    }

    /// The character at the current position as an error message shows it.
    private var seen: String {
        guard let c = current else { return "the end of the file" }
        if c == UInt8(ascii: "\n") { return "the end of the line" }
        if c == UInt8(ascii: "\r") { return "a carriage return without a line feed" }
        if (0x21...0x7E).contains(c) { return "'\(Character(Unicode.Scalar(c)))'" }
        let scalar = String(decoding: text[i...].prefix(4), as: UTF8.self).unicodeScalars.first?.value ?? UInt32(c)
        let hex = String(scalar, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// An error at the current position: 1-based line, and column in characters.
    private func fail(_ message: String) -> TOMLDocument.SyntaxError {
        let end = min(i, text.count)
        let before = text[start..<end]
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? start
        let line = 1 + before.count(where: { $0 == UInt8(ascii: "\n") })
        let column = 1 + String(decoding: text[lineStart..<end], as: UTF8.self).unicodeScalars.count
        return TOMLDocument.SyntaxError(line: line, column: column, message: message)
    }
}
