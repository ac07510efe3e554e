/// A TOML 1.0 parser (toml.io/en/v1.0.0 and its ABNF) over the UTF-8 bytes of a document.
///
/// One pass checks the grammar and builds the values; `TOMLTableBuilder` refuses what the
/// grammar allows but the spec does not (a key or table defined twice, an inline table or
/// static array extended). Every error carries the line and column where it was found.
/// Hostile input meets limits instead of exhausting the stack: tables, arrays and inline
/// tables nest at most `maxDepth` deep, counting each part of a dotted key or header.
struct TOMLParser {
    static let maxDepth = 100

    private typealias SyntaxError = TOMLDocument.SyntaxError

    /// A part of a key (`a`, `"b c"`) and where it starts, for errors that concern it.
    private struct KeyPart {
        let name: String
        let start: Int
    }

    /// Which sort of date or time a literal is.
    private enum Moment {
        case offsetDateTime, localDateTime, localDate, localTime
    }

    private let text: [UInt8]
    /// Where line 1 starts: after a byte-order mark, if there is one.
    private let start: Int
    private var i: Int
    /// Tables, arrays and inline tables around the position.
    private var depth = 0
    /// Numbers the sections (the document's top, each header, each inline table) so that dotted
    /// keys can tell the tables they created themselves from those of another section.
    private var sections = 0

    /// `text` must be valid UTF-8, as a `String`'s bytes are.
    private init(_ text: [UInt8]) {
        self.text = text
        start = text.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        i = start
    }

    static func parse(_ text: String) throws(TOMLDocument.SyntaxError) -> TOMLTable {
        var parser = TOMLParser(Array(text.utf8))
        return try parser.document()
    }

    // MARK: Lines

    private mutating func document() throws(SyntaxError) -> TOMLTable {
        let root = TOMLTableBuilder()
        var table = root
        var path: [String] = []
        var section = 0
        while i < text.count {
            skipSpaces()
            var expected = "expected a key, a [table] header, a comment or the end of the line"
            if at("[") {
                (table, path) = try tableHeader(root)
                sections += 1
                section = sections
                depth = path.count
                expected = "expected a comment or the end of the line after the table header"
            } else if let c = current, isBareKey(c) || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                try keyValue(into: table, path: path, section: section)
                expected = "expected a comment or the end of the line after the value"
            }
            skipSpaces()
            if at("#") { try comment() }
            guard i < text.count else { break }
            try lineBreak(orFail: expected)
        }
        return root.table
    }

    /// `[a.b]` or `[[a.b]]`: the table that the key/value pairs after it go into, and its key.
    private mutating func tableHeader(_ root: TOMLTableBuilder) throws(SyntaxError) -> (TOMLTableBuilder, [String]) {
        i += 1
        let isArray = at("[")
        if isArray { i += 1 }
        skipSpaces()
        let key = try key()
        guard key.count <= Self.maxDepth else { throw tooDeep(key) }
        skipSpaces()
        try expect("]", "']' to close the table header")
        if isArray { try expect("]", "']]' to close the array-of-tables header") }
        let names = key.map(\.name)
        do {
            return (try isArray ? root.appendTable(names) : root.defineTable(names), names)
        } catch {
            throw fail(at: key[error.part].start, error.message)
        }
    }

    /// `key = value` into `table`, whose own key is `path`.
    private mutating func keyValue(into table: TOMLTableBuilder, path: [String], section: Int) throws(SyntaxError) {
        let key = try key()
        guard depth + key.count - 1 <= Self.maxDepth else { throw tooDeep(key) }
        skipSpaces()
        try expect("=", "'=' after the key")
        skipSpaces()
        let names = key.map(\.name)
        let outer = depth
        depth += key.count - 1
        let value = try value(path: path + names)
        depth = outer
        do {
            try table.insert(value, at: names, base: path, section: section)
        } catch {
            throw fail(at: key[error.part].start, error.message)
        }
    }

    /// A bare, quoted or dotted key.
    private mutating func key() throws(SyntaxError) -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            let partStart = i
            let name: String
            if at("\"\"\"") || at("'''") {
                throw fail("multi-line strings cannot be keys")
            } else if at("\"") {
                name = try basicString()
            } else if at("'") {
                name = try literalString()
            } else if let c = current, isBareKey(c) {
                while let c = current, isBareKey(c) { i += 1 }
                name = String(decoding: text[partStart..<i], as: UTF8.self)
            } else {
                throw fail("expected a key (letters, digits, '_', '-' or a quoted string), saw \(seen)")
            }
            parts.append(KeyPart(name: name, start: partStart))
            let afterPart = i
            skipSpaces()
            guard at(".") else {
                i = afterPart
                return parts
            }
            i += 1
            skipSpaces()
        }
    }

    private func tooDeep(_ key: [KeyPart]) -> SyntaxError {
        fail(at: key[0].start, "tables are nested more than \(Self.maxDepth) deep (counting each part of a dotted key)")
    }

    // MARK: Values

    /// A value; `path` is its key in the document, which inline tables name in their errors.
    private mutating func value(path: [String]) throws(SyntaxError) -> TOMLValue {
        guard let c = current else { throw fail("expected a value, saw \(seen)") }
        switch c {
        case UInt8(ascii: "\""):
            return .string(try at("\"\"\"") ? multiLineString(quote: UInt8(ascii: "\"")) : basicString())
        case UInt8(ascii: "'"):
            return .string(try at("'''") ? multiLineString(quote: UInt8(ascii: "'")) : literalString())
        case UInt8(ascii: "["):
            return try array(path: path)
        case UInt8(ascii: "{"):
            return try inlineTable(path: path)
        case UInt8(ascii: "t"):
            try word("true")
            return .boolean(true)
        case UInt8(ascii: "f"):
            try word("false")
            return .boolean(false)
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "i"), UInt8(ascii: "n"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let first = i
            let moment: Moment
            if digits(at: 0, count: 4), at("-", offset: 4) {
                moment = try dateTime()
            } else if digits(at: 0, count: 2), at(":", offset: 2) {
                try time()
                moment = .localTime
            } else {
                return try number()
            }
            let literal = String(decoding: text[first..<i], as: UTF8.self)
            switch moment {
            case .offsetDateTime: return .offsetDateTime(literal)
            case .localDateTime: return .localDateTime(literal)
            case .localDate: return .localDate(literal)
            case .localTime: return .localTime(literal)
            }
        default:
            throw fail("expected a value (a string, number, boolean, date, array or inline table), saw \(seen)")
        }
    }

    /// Opens an array or inline table; the caller closes it with `depth -= 1`.
    private mutating func enterNested() throws(SyntaxError) {
        guard depth < Self.maxDepth else {
            throw fail("arrays and inline tables are nested more than \(Self.maxDepth) deep")
        }
        depth += 1
        i += 1
    }

    /// `[ value, value, ]` over any number of lines, with comments.
    private mutating func array(path: [String]) throws(SyntaxError) -> TOMLValue {
        try enterNested()
        defer { depth -= 1 }
        var elements: [TOMLValue] = []
        while true {
            try skipBlankLines()
            if at("]") { break }
            elements.append(try value(path: path))
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
        return .array(elements)
    }

    /// `{ key = value, key = value }` on one line, without a trailing comma.
    private mutating func inlineTable(path: [String]) throws(SyntaxError) -> TOMLValue {
        try enterNested()
        defer { depth -= 1 }
        let table = TOMLTableBuilder()
        sections += 1
        let section = sections
        skipSpaces()
        if at("}") {
            i += 1
            return .table(table.table)
        }
        while true {
            try keyValue(into: table, path: path, section: section)
            skipSpaces()
            if at(",") {
                i += 1
                skipSpaces()
            } else if at("}") {
                i += 1
                return .table(table.table)
            } else {
                throw fail("expected ',' or '}' in an inline table (which must fit on one line), saw \(seen)")
            }
        }
    }

    private mutating func word(_ w: StaticString) throws(SyntaxError) {
        guard at(w) else { throw fail("expected '\(w)'") }
        i += w.utf8CodeUnitCount
    }

    /// Decimal integers and floats (with optional sign, underscores between digits, `inf`,
    /// `nan`), and unsigned hexadecimal, octal and binary integers.
    private mutating func number() throws(SyntaxError) -> TOMLValue {
        let first = i
        let negative = at("-")
        let signed = negative || at("+")
        if signed { i += 1 }
        if at("inf") || at("nan") {
            let magnitude: Double = at("inf") ? .infinity : .nan
            i += 3
            return .float(negative ? -magnitude : magnitude)
        }
        if !signed, at("0x") || at("0o") || at("0b") {
            let radix: UInt64 = at("0x") ? 16 : at("0o") ? 8 : 2
            i += 2
            let digitsStart = i
            try digitGroups(radix: Int(radix), what: "integer")
            return try integer(text[digitsStart..<i], radix: radix, negative: false, first: first)
        }
        let digitsStart = i
        if at("0") {
            i += 1
            if let c = current, isDigit(c) || c == UInt8(ascii: "_") {
                throw fail("integers cannot have leading zeros")
            }
        } else {
            try digitGroups(radix: 10, what: "number")
        }
        var isFloat = false
        if at(".") {
            i += 1
            try digitGroups(radix: 10, what: "fraction")
            isFloat = true
        }
        if at("e") || at("E") {
            i += 1
            if at("+") || at("-") { i += 1 }
            try digitGroups(radix: 10, what: "exponent")
            isFloat = true
        }
        guard isFloat else { return try integer(text[digitsStart..<i], radix: 10, negative: negative, first: first) }
        let literal = String(decoding: text[first..<i].filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        guard let x = Double(literal), x.isFinite else {
            throw fail(at: first, "the float \(literal) is too large for a 64-bit float")
        }
        return .float(x)
    }

    /// Checked digits (underscores allowed) as a 64-bit signed integer.
    private func integer(_ digits: ArraySlice<UInt8>, radix: UInt64, negative: Bool, first: Int) throws(SyntaxError) -> TOMLValue {
        // The magnitude may reach 2^63 only for a negative decimal: Int64.min.
        let limit = UInt64(Int64.max) + (negative ? 1 : 0)
        var magnitude: UInt64 = 0
        for c in digits where c != UInt8(ascii: "_") {
            let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: radix)
            let (sum, carry) = shifted.addingReportingOverflow(UInt64(hexValue(c) ?? 0))
            guard !overflow, !carry, sum <= limit else {
                throw fail(at: first, "the integer \(String(decoding: text[first..<i], as: UTF8.self)) does not fit in 64 bits")
            }
            magnitude = sum
        }
        return .integer(negative ? Int64(truncatingIfNeeded: 0 &- magnitude) : Int64(magnitude))
    }

    /// Digits with single underscores between them.
    private mutating func digitGroups(radix: Int, what: String) throws(SyntaxError) {
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
    private mutating func dateTime() throws(SyntaxError) -> Moment {
        let year = try field(4, 0...9999, "year")
        try expect("-", "'-' in the date")
        let month = try field(2, 1...12, "month")
        try expect("-", "'-' in the date")
        let dayStart = i
        let day = try field(2, 1...31, "day")
        guard day <= Self.days(inMonth: month, of: year) else {
            throw fail(at: dayStart, "there is no day \(day) in month \(month) of \(year)")
        }
        guard at("T") || at("t") || (at(" ") && digits(at: 1, count: 2) && at(":", offset: 3)) else { return .localDate }
        i += 1
        try time()
        if at("Z") || at("z") {
            i += 1
        } else if at("+") || at("-") {
            i += 1
            try field(2, 0...23, "offset hour")
            try expect(":", "':' in the time offset")
            try field(2, 0...59, "offset minute")
        } else {
            return .localDateTime
        }
        return .offsetDateTime
    }

    private static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `HH:MM:SS` with optional fractional seconds.
    private mutating func time() throws(SyntaxError) {
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
    @discardableResult
    private mutating func field(_ count: Int, _ range: ClosedRange<Int>, _ what: String) throws(SyntaxError) -> Int {
        guard digits(at: 0, count: count) else { throw fail("expected \(count) digits for the \(what), saw \(seen)") }
        let value = text[i..<(i + count)].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard range.contains(value) else { throw fail("the \(what) \(value) is out of range") }
        i += count
        return value
    }

    // MARK: Strings

    /// `"…"` with escapes, on one line.
    private mutating func basicString() throws(SyntaxError) -> String {
        i += 1
        var bytes: [UInt8] = []
        while let c = current {
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: bytes, as: UTF8.self)
            } else if c == UInt8(ascii: "\\") {
                try escape(into: &bytes)
            } else {
                try textCharacter(in: "a string")
                bytes.append(c)
            }
        }
        throw fail("the string is not closed before the end of the file")
    }

    /// `"""…"""` (escapes) or `'''…'''` (verbatim), with line breaks. A line break right after
    /// the opening quotes is dropped; in a basic string a backslash at the end of a line drops
    /// it with the blanks after it.
    private mutating func multiLineString(quote: UInt8) throws(SyntaxError) -> String {
        let escapes = quote == UInt8(ascii: "\"")
        i += 3
        try skipFirstLineBreak()
        var bytes: [UInt8] = []
        while let c = current {
            if at(escapes ? "\"\"\"" : "'''") {
                try closeMultiLine(quote: quote, into: &bytes)
                return String(decoding: bytes, as: UTF8.self)
            } else if escapes, c == UInt8(ascii: "\\") {
                var j = i + 1
                while j < text.count, text[j] == UInt8(ascii: " ") || text[j] == UInt8(ascii: "\t") { j += 1 }
                if j < text.count, text[j] == UInt8(ascii: "\n") || text[j] == UInt8(ascii: "\r") {
                    i = j
                    while at(" ") || at("\t") || at("\n") || at("\r") {
                        if at(" ") || at("\t") {
                            i += 1
                        } else {
                            try lineBreak(orFail: "expected a line break after '\\' and spaces")
                        }
                    }
                } else {
                    try escape(into: &bytes)
                }
            } else if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                try lineBreak(orFail: "expected a line break")
                bytes.append(UInt8(ascii: "\n"))
            } else {
                try textCharacter(in: "a string")
                bytes.append(c)
            }
        }
        throw fail("the multi-line string is not closed before the end of the file")
    }

    /// `'…'`, verbatim, on one line.
    private mutating func literalString() throws(SyntaxError) -> String {
        i += 1
        let contentStart = i
        while let c = current {
            if c == UInt8(ascii: "'") {
                i += 1
                return String(decoding: text[contentStart..<(i - 1)], as: UTF8.self)
            }
            try textCharacter(in: "a string")
        }
        throw fail("the string is not closed before the end of the file")
    }

    private mutating func skipFirstLineBreak() throws(SyntaxError) {
        if at("\n") || at("\r") { try lineBreak(orFail: "expected a line break") }
    }

    /// Three to five quotes: up to two belong to the content, the last three close it.
    private mutating func closeMultiLine(quote: UInt8, into bytes: inout [UInt8]) throws(SyntaxError) {
        var run = 0
        while let c = current, c == quote {
            run += 1
            i += 1
        }
        guard run <= 5 else { throw fail("too many quotes at the end of a multi-line string") }
        bytes.append(contentsOf: repeatElement(quote, count: run - 3))
    }

    /// `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`; the code point must be a Unicode scalar value.
    private mutating func escape(into bytes: inout [UInt8]) throws(SyntaxError) {
        i += 1
        guard let c = current else { throw fail("the string is not closed before the end of the file") }
        let replacement: UInt8? = switch c {
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "t"): 0x09
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): c
        case UInt8(ascii: "u"), UInt8(ascii: "U"): nil
        case 0x21...0x7E: throw fail("unknown escape '\\\(Character(Unicode.Scalar(c)))' in a string")
        default: throw fail("'\\' followed by \(seen) is not an escape")
        }
        if let replacement {
            bytes.append(replacement)
            i += 1
            return
        }
        let count = c == UInt8(ascii: "u") ? 4 : 8
        i += 1
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let h = current, let v = hexValue(h) else {
                throw fail("expected \(count) hexadecimal digits in a \\\(Character(Unicode.Scalar(c))) escape, saw \(seen)")
            }
            value = value << 4 | v
            i += 1
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw fail("escape names U+\(String(value, radix: 16, uppercase: true)), which is not a Unicode scalar value")
        }
        UTF8.encode(scalar) { bytes.append($0) }
    }

    /// One character of string content (UTF-8 bytes pass one at a time): no control characters
    /// but tab, no line break.
    private mutating func textCharacter(in what: String) throws(SyntaxError) {
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
    private mutating func skipBlankLines() throws(SyntaxError) {
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
    private mutating func comment() throws(SyntaxError) {
        i += 1
        while let c = current, c != UInt8(ascii: "\n"), c != UInt8(ascii: "\r") {
            try textCharacter(in: "a comment")
        }
    }

    /// `\n` or `\r\n`.
    private mutating func lineBreak(orFail message: String) throws(SyntaxError) {
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
        let j = i + offset
        return j >= start && j < text.count ? text[j] : nil
    }

    private func at(_ s: Unicode.Scalar, offset: Int = 0) -> Bool {
        byte(at: offset) == UInt8(ascii: s)
    }

    private func at(_ s: StaticString) -> Bool {
        let count = s.utf8CodeUnitCount
        guard i + count <= text.count else { return false }
        return s.withUTF8Buffer { bytes in (0..<count).allSatisfy { text[i + $0] == bytes[$0] } }
    }

    private func digits(at offset: Int, count: Int) -> Bool {
        (0..<count).allSatisfy { byte(at: offset + $0).map { isDigit($0) } ?? false }
    }

    private mutating func expect(_ s: Unicode.Scalar, _ what: String) throws(SyntaxError) {
        guard at(s) else { throw fail("expected \(what), saw \(seen)") }
        i += 1
    }

    private func isBareKey(_ c: UInt8) -> Bool {
        TOMLKey.isBare(c)
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
        if c == UInt8(ascii: " ") { return "a space" }
        if c == UInt8(ascii: "\t") { return "a tab" }
        if (0x21...0x7E).contains(c) { return "'\(Character(Unicode.Scalar(c)))'" }
        let scalar = String(decoding: text[i...].prefix(4), as: UTF8.self).unicodeScalars.first?.value ?? UInt32(c)
        let hex = String(scalar, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// An error at the current position.
    private func fail(_ message: String) -> SyntaxError {
        fail(at: i, message)
    }

    /// An error at byte `position`: 1-based line, and column in characters.
    private func fail(at position: Int, _ message: String) -> SyntaxError {
        let end = min(max(position, start), text.count)
        let before = text[start..<end]
        let lineStart = before.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? start
        let line = 1 + before.count(where: { $0 == UInt8(ascii: "\n") })
        let column = 1 + String(decoding: text[lineStart..<end], as: UTF8.self).unicodeScalars.count
        return SyntaxError(line: line, column: column, message: message)
    }
}
