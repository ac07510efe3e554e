import Testing

@testable import Base

@Suite struct TOMLDocumentTests {
    private func refusal(_ text: String) -> TOMLDocument.SyntaxError? {
        do {
            _ = try TOMLDocument.parse(text)
            return nil
        } catch {
            return error
        }
    }

    /// The TOML 1.0 specification's examples of every kind of value, key and table.
    @Test func acceptsTheWholeTOMLGrammar() throws {
        let text = #"""
            \#u{FEFF}# comment at the top
            title = "TOML \"Example\" \u00E9 \U0001F600" # comment after a value
            bare_key-1 = 'C:\Users\nodejs\templates'
            "quoted key" = ''
            'literal key'.dotted . "segments" = true
            1234 = false
            3.14159 = "a dotted numeric key"
            multi = """
            Roses are red \
               Violets are blue
            quotes "" inside, and two at the end"""""
            raw = '''
            The first newline is
            trimmed in raw strings. ''quotes'' '''
            [numbers]
            int = [+99, 42, 0, -17, 1_000, 5_349_221, 0xDEAD_beef, 0o755, 0b1101_0110]
            float = [+1.0, 3.1415, -0.01, 5e+22, 1e06, -2E-2, 6.626e-34, 224_617.445_991, 0e0, -0.0]
            special = [inf, +inf, -inf, nan, +nan, -nan]
            [dates]
            odt = [1979-05-27T07:32:00Z, 1979-05-27T00:32:00-07:00, 1979-05-27T00:32:00.999999+07:00, 1979-05-27 07:32:00z]
            ldt = [1979-05-27T07:32:00, 1979-05-27t00:32:00.999999]
            ld = 1979-05-27
            lt = [07:32:00, 00:32:00.999999]
            [arrays]
            nested = [ [ 1, 2 ], ["a", 'b'], [ [ ], {} ] ]
            multiline = [
              +1,  # comments inside arrays
              [
                2
              ],
              { x = 1, y.z = "w" },
            ]
            [[products]]
            name = "Hammer"
            point = { x = 1, y = 2 }
            [[products]]\#r
            [ a . "b" . 'c' ] # whitespace around dots
            """#
        let document = try TOMLDocument.parse(text)
        #expect(document.keys == ["title", "bare_key-1", "quoted key", "literal key", "1234", "3", "multi", "raw",
                                  "numbers", "dates", "arrays", "products", "a"])
        #expect(document["title"] == .string("TOML \"Example\" é 😀"))
        #expect(document["bare_key-1"] == .string(#"C:\Users\nodejs\templates"#))
        #expect(document["literal key"] == .table(["dotted": .table(["segments": .boolean(true)])]))
        #expect(document["3"] == .table(["14159": .string("a dotted numeric key")]))
        #expect(document["multi"] == .string("Roses are red Violets are blue\nquotes \"\" inside, and two at the end\"\""))
        #expect(document["raw"] == .string("The first newline is\ntrimmed in raw strings. ''quotes'' "))
        #expect(document["numbers"]?.table?["int"] == .array([99, 42, 0, -17, 1000, 5_349_221, 0xDEAD_BEEF, 0o755, 0b1101_0110].map { .integer($0) }))
        #expect(document["numbers"]?.table?["float"]?.array?.compactMap(\.float)
            == [1, 3.1415, -0.01, 5e22, 1e6, -2e-2, 6.626e-34, 224_617.445_991, 0, -0.0])
        #expect(document["dates"]?.table?["odt"]?.array?.last == .offsetDateTime("1979-05-27 07:32:00z"))
        #expect(document["dates"]?.table?["lt"] == .array([.localTime("07:32:00"), .localTime("00:32:00.999999")]))
        #expect(document["arrays"]?.table?["multiline"] == .array([
            .integer(1), .array([.integer(2)]), .table(["x": .integer(1), "y": .table(["z": .string("w")])]),
        ]))
        #expect(document["products"] == .array([
            .table(["name": .string("Hammer"), "point": .table(["x": .integer(1), "y": .integer(2)])]), .table([:]),
        ]))
        #expect(document["a"] == .table(["b": .table(["c": .table([:])])]))
    }

    /// Each of these aborted the process inside toml++, the parser of TOMLKit, which volumed used before.
    @Test func refusesWhatTOMLKitsParserWouldAbortOn() throws {
        let cases: [(text: String, line: Int, column: Int, message: String)] = [
            ("[<", 1, 2, "expected a key (letters, digits, '_', '-' or a quoted string), saw '<'"),
            ("[[[1]]]", 1, 3, "expected a key (letters, digits, '_', '-' or a quoted string), saw '['"),
            ("ok = 1\n  [\n", 2, 4, "expected a key (letters, digits, '_', '-' or a quoted string), saw the end of the line"),
            ("a = [\"x\",}", 1, 10, "expected a value (a string, number, boolean, date, array or inline table), saw '}'"),
            ("a = 0989-05-27Tigm07:32:00Z", 1, 16, "expected 2 digits for the hour, saw 'i'"),
        ]
        for (text, line, column, message) in cases {
            #expect(refusal(text) == TOMLDocument.SyntaxError(line: line, column: column, message: message), "\(text)")
        }
    }

    @Test func refusesMalformedTOMLWithThePlaceAndTheReason() throws {
        let cases: [(text: String, line: Int, column: Int, message: String)] = [
            ("a = \"x\0y\"", 1, 7, "control character U+0000 in a string"),
            ("# a\0", 1, 4, "control character U+0000 in a comment"),
            ("a = \"open\nb = 1", 1, 10, "a string is not closed before the end of the line"),
            ("a = '''never closed", 1, 20, "the multi-line string is not closed before the end of the file"),
            ("a = \"\"\"x\"\"\"\"\"\"", 1, 15, "too many quotes at the end of a multi-line string"),
            ("a = \"\\q\"", 1, 7, "unknown escape '\\q' in a string"),
            ("a = \"\\uD800\"", 1, 12, "escape names U+D800, which is not a Unicode scalar value"),
            ("a = 1 2", 1, 7, "expected a comment or the end of the line after the value, saw '2'"),
            ("a = 01", 1, 6, "integers cannot have leading zeros"),
            ("a = 1__0", 1, 6, "expected a comment or the end of the line after the value, saw '_'"),
            ("a = 1.", 1, 7, "expected a digit in the fraction, saw the end of the file"),
            ("a = 1979-13-01", 1, 10, "the month 13 is out of range"),
            ("a = 07:32", 1, 10, "expected ':' and seconds in the time, saw the end of the file"),
            ("a = { b = 1, }", 1, 14, "expected a key (letters, digits, '_', '-' or a quoted string), saw '}'"),
            ("a = { b = 1\n}", 1, 12, "expected ',' or '}' in an inline table (which must fit on one line), saw the end of the line"),
            ("a = [1 2]", 1, 8, "expected ',' or ']' after an array element, saw '2'"),
            ("a = True", 1, 5, "expected a value (a string, number, boolean, date, array or inline table), saw 'T'"),
            ("a = tru", 1, 5, "expected 'true'"),
            ("\"\"\"k\"\"\" = 1", 1, 1, "multi-line strings cannot be keys"),
            ("[a]]", 1, 4, "expected a comment or the end of the line after the table header, saw ']'"),
            ("[[a]", 1, 5, "expected ']]' to close the array-of-tables header, saw the end of the file"),
            ("a\u{A0}= 1", 1, 2, "expected '=' after the key, saw U+00A0"),
            ("a = 1\rb = 2", 1, 6, "expected a comment or the end of the line after the value, saw a carriage return without a line feed"),
            ("a = " + String(repeating: "[", count: 101), 1, 105, "arrays and inline tables are nested more than 100 deep"),
        ]
        for (text, line, column, message) in cases {
            #expect(refusal(text) == TOMLDocument.SyntaxError(line: line, column: column, message: message), "\(text)")
        }
    }

    @Test func refusesIntegersAndFloatsOutsideSixtyFourBits() {
        let cases: [(text: String, line: Int, column: Int, message: String)] = [
            ("a = 9223372036854775808", 1, 5, "the integer 9223372036854775808 does not fit in 64 bits"),
            ("a = -9_223_372_036_854_775_809", 1, 5, "the integer -9_223_372_036_854_775_809 does not fit in 64 bits"),
            ("a = 0x8000000000000000", 1, 5, "the integer 0x8000000000000000 does not fit in 64 bits"),
            ("a = 0b1\nb = 0o1777777777777777777777", 2, 5, "the integer 0o1777777777777777777777 does not fit in 64 bits"),
            ("a = 99999999999999999999999", 1, 5, "the integer 99999999999999999999999 does not fit in 64 bits"),
            ("a = [1.5, -1e400]", 1, 11, "the float -1e400 is too large for a 64-bit float"),
        ]
        for (text, line, column, message) in cases {
            #expect(refusal(text) == TOMLDocument.SyntaxError(line: line, column: column, message: message), "\(text)")
        }
    }

    @Test func refusesDatesThatAreNotInTheCalendar() {
        #expect(refusal("a = 2023-02-29") == TOMLDocument.SyntaxError(line: 1, column: 13, message: "there is no day 29 in month 2 of 2023"))
        #expect(refusal("a = 1900-02-29T00:00:00Z")?.message == "there is no day 29 in month 2 of 1900")
        #expect(refusal("a = 1979-04-31") == TOMLDocument.SyntaxError(line: 1, column: 13, message: "there is no day 31 in month 4 of 1979"))
        #expect(refusal("a = 1979-05-27T24:00:00")?.message == "the hour 24 is out of range")
        #expect(refusal("a = 1979-05-27T07:32:00+24:00")?.message == "the offset hour 24 is out of range")
    }

    /// Dotted keys and headers count towards the nesting limit, so no document, however
    /// hostile, nests values deeper than the limit (each level costs stack when the values are
    /// built, compared and freed).
    @Test func limitsTheNestingOfTablesByKeysAndHeaders() throws {
        let parts = { (count: Int) in Array(repeating: "k", count: count).joined(separator: ".") }
        #expect(try TOMLDocument.parse(parts(101) + " = 1")["k"] != nil)
        let message = "tables are nested more than 100 deep (counting each part of a dotted key)"
        #expect(refusal(parts(102) + " = 1") == TOMLDocument.SyntaxError(line: 1, column: 1, message: message))
        #expect(try TOMLDocument.parse("[\(parts(100))]\na = 1")["k"] != nil)
        #expect(refusal("[\(parts(101))]") == TOMLDocument.SyntaxError(line: 1, column: 2, message: message))
        #expect(refusal("[\(parts(60))]\n\(parts(42)) = 1") == TOMLDocument.SyntaxError(line: 2, column: 1, message: message))
        #expect(refusal("[\(parts(60))]\na = " + String(repeating: "[", count: 41))
            == TOMLDocument.SyntaxError(line: 2, column: 45, message: "arrays and inline tables are nested more than 100 deep"))
        let inline = String(repeating: "{ a.b.c = ", count: 34)
        #expect(refusal("x = " + inline)?.message == message)
    }

    @Test func survivesHugeFlatDocuments() throws {
        let keys = (0..<5_000).map { "k\($0) = [\($0), { v = \"\($0)\" }]" }.joined(separator: "\n")
        let document = try TOMLDocument.parse(keys)
        #expect(document.count == 5_000)
        #expect(document["k4999"] == .array([.integer(4_999), .table(["v": .string("4999")])]))
        let tables = try TOMLDocument.parse(String(repeating: "[[t]]\nx = 1\n", count: 5_000))
        #expect(tables["t"]?.array?.count == 5_000)
    }

    @Test func describesValuesAsTOML() throws {
        let document = try TOMLDocument.parse(#"""
            a = "tab\there \"q\" \u0001"
            b = [1, 2.5, -inf, nan, true, 1979-05-27, []]
            c = { x = 1, "y z" = { } }
            "" = 0x10
            """#)
        #expect("\(document["a"]!)" == #""tab\there \"q\" \u0001""#)
        #expect("\(document["b"]!)" == "[ 1, 2.5, -inf, nan, true, 1979-05-27, [] ]")
        #expect("\(document["c"]!)" == #"{ x = 1, "y z" = {} }"#)
        #expect("\(document)" == #"{ a = "tab\there \"q\" \u0001", b = [ 1, 2.5, -inf, nan, true, 1979-05-27, [] ], c = { x = 1, "y z" = {} }, "" = 16 }"#)
    }
}
