/// The header of a `.npy` file: a Python dict literal such as
/// `{'descr': '<i4', 'fortran_order': False, 'shape': (3, 4), }`, padded with spaces and ended
/// by a newline. Only the literals numpy writes are parsed (strings, integers, booleans, None,
/// tuples, lists, dicts), never evaluated.
struct NumpyHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    /// What a header literal holds.
    private enum Literal {
        case string(String)
        case int(Int)
        case bool(Bool)
        case none
        case sequence([Literal])
        case dict([(key: Literal, value: Literal)])
    }

    /// Why `text` is not a header; `offset` (from the header's first byte) is nil when the
    /// dict parses but its content is wrong.
    struct SyntaxError: Error {
        var offset: Int?
        var reason: String
    }

    /// Parses and checks the header: exactly the keys `descr` (a string), `fortran_order` (a
    /// bool) and `shape` (a tuple of non-negative integers), as numpy requires.
    init(_ text: UnsafeRawBufferPointer) throws(SyntaxError) {
        var parser = Parser(bytes: text)
        parser.skipSpace()
        let start = parser.position
        guard case .dict(let entries) = try parser.value(depth: 0) else {
            throw SyntaxError(offset: start, reason: "the header is not a dict")
        }
        parser.skipSpace()
        guard parser.position == text.count else {
            throw SyntaxError(offset: parser.position, reason: "unexpected text after the header's dict")
        }
        var descr: String?, fortranOrder: Bool?, shape: [Int]?
        for (key, value) in entries {
            switch (key, value) {
            case (.string("descr"), .string(let s)) where descr == nil: descr = s
            case (.string("descr"), .sequence), (.string("descr"), .dict):
                throw SyntaxError(offset: nil, reason: "'descr' is a structured dtype; token ids must be one integer per element")
            case (.string("fortran_order"), .bool(let b)) where fortranOrder == nil: fortranOrder = b
            case (.string("shape"), .sequence(let dims)) where shape == nil:
                var out: [Int] = []
                for d in dims {
                    guard case .int(let n) = d, n >= 0 else {
                        throw SyntaxError(offset: nil, reason: "'shape' has a dimension that is not a non-negative integer")
                    }
                    out.append(n)
                }
                shape = out
            case (.string(let name), _):
                throw SyntaxError(offset: nil, reason: "key '\(name)' is unexpected, repeated or of the wrong type (numpy writes 'descr': str, 'fortran_order': bool, 'shape': tuple)")
            default:
                throw SyntaxError(offset: nil, reason: "a key is not a string")
            }
        }
        guard let descr, let fortranOrder, let shape else {
            throw SyntaxError(offset: nil, reason: "the header lacks one of 'descr', 'fortran_order', 'shape'")
        }
        self.descr = descr
        self.fortranOrder = fortranOrder
        self.shape = shape
    }

    private struct Parser {
        static let maxDepth = 8

        let bytes: UnsafeRawBufferPointer
        var position = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        func fail(_ reason: String) -> SyntaxError { SyntaxError(offset: position, reason: reason) }

        var current: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipSpace() {
            while let c = current, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { position += 1 }
        }

        mutating func value(depth: Int) throws(SyntaxError) -> Literal {
            guard depth < Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth)") }
            skipSpace()
            guard let c = current else { throw fail("unexpected end of the header") }
            switch c {
            case UInt8(ascii: "{"): return try dict(depth: depth)
            case UInt8(ascii: "("): return .sequence(try items(closing: UInt8(ascii: ")"), depth: depth))
            case UInt8(ascii: "["): return .sequence(try items(closing: UInt8(ascii: "]"), depth: depth))
            case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .int(try integer())
            default:
                if try word("True") { return .bool(true) }
                if try word("False") { return .bool(false) }
                if try word("None") { return .none }
                throw fail("unexpected character")
            }
        }

        mutating func word(_ w: StaticString) throws(SyntaxError) -> Bool {
            let n = w.utf8CodeUnitCount
            guard position + n <= bytes.count else { return false }
            for i in 0..<n where bytes[position + i] != w.utf8Start[i] { return false }
            position += n
            return true
        }

        mutating func dict(depth: Int) throws(SyntaxError) -> Literal {
            position += 1
            var entries: [(key: Literal, value: Literal)] = []
            while true {
                skipSpace()
                if current == UInt8(ascii: "}") { position += 1; return .dict(entries) }
                let key = try value(depth: depth + 1)
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw fail("expected ':'") }
                position += 1
                entries.append((key, try value(depth: depth + 1)))
                skipSpace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                guard current == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
            }
        }

        mutating func items(closing: UInt8, depth: Int) throws(SyntaxError) -> [Literal] {
            position += 1
            var items: [Literal] = []
            while true {
                skipSpace()
                if current == closing { position += 1; return items }
                items.append(try value(depth: depth + 1))
                skipSpace()
                if current == UInt8(ascii: ",") { position += 1; continue }
                guard current == closing else { throw fail("expected ',' or '\(Character(Unicode.Scalar(closing)))'") }
            }
        }

        /// A quoted string without escapes (numpy's dtype and key names have none).
        mutating func string() throws(SyntaxError) -> String {
            let quote = bytes[position]
            position += 1
            let start = position
            while let c = current, c != quote {
                guard c != UInt8(ascii: "\\"), c != 0x0A else { throw fail("escape or line break in a string") }
                position += 1
            }
            guard current == quote else { throw fail("unterminated string") }
            // Version 3.0 headers are UTF-8; 1.0 and 2.0 are Latin-1, whose non-ASCII letters
            // only appear in structured dtypes' field names, which are refused anyway.
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            position += 1
            return text
        }

        /// A decimal integer, with the `L` suffix of files written by Python 2.
        mutating func integer() throws(SyntaxError) -> Int {
            let negative = current == UInt8(ascii: "-")
            if negative { position += 1 }
            guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
                throw fail("invalid integer")
            }
            var n = 0
            while let c = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
                let (times10, o1) = n.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
                guard !o1, !o2 else { throw fail("integer too large") }
                n = sum
                position += 1
            }
            if current == UInt8(ascii: "L") { position += 1 }
            return negative ? -n : n
        }
    }
}
