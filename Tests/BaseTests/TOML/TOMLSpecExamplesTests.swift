import Testing

@testable import Base

/// The valid examples of the TOML 1.0.0 specification (toml.io/en/v1.0.0), each with the values
/// the specification says it holds.
@Suite struct TOMLSpecExamplesTests {
    private func parse(_ text: String) throws -> TOMLTable {
        try TOMLDocument.parse(text)
    }

    @Test func comments() throws {
        let document = try parse("""
            # This is a full-line comment
            key = "value"  # This is a comment at the end of a line
            another = "# This is not a comment"
            """)
        #expect(document == ["key": .string("value"), "another": .string("# This is not a comment")])
    }

    @Test func bareAndQuotedKeys() throws {
        let document = try parse("""
            key = "value"
            bare_key = "value"
            bare-key = "value"
            1234 = "value"
            "127.0.0.1" = "value"
            "character encoding" = "value"
            "ʎǝʞ" = "value"
            'key2' = "value"
            'quoted "value"' = "value"
            "" = "blank"
            """)
        #expect(document.keys == [
            "key", "bare_key", "bare-key", "1234", "127.0.0.1", "character encoding", "ʎǝʞ", "key2", "quoted \"value\"", "",
        ])
        #expect(document[""] == .string("blank"))
    }

    @Test func dottedKeysMakeTables() throws {
        let document = try parse("""
            name = "Orange"
            physical.color = "orange"
            physical.shape = "round"
            site."google.com" = true
            fruit.name = "banana"     # this is best practice
            fruit. color = "yellow"    # same as fruit.color
            fruit . flavor = "banana"   # same as fruit.flavor
            3.14159 = "pi"
            """)
        #expect(document == [
            "name": .string("Orange"),
            "physical": .table(["color": .string("orange"), "shape": .string("round")]),
            "site": .table(["google.com": .boolean(true)]),
            "fruit": .table(["name": .string("banana"), "color": .string("yellow"), "flavor": .string("banana")]),
            "3": .table(["14159": .string("pi")]),
        ])
    }

    @Test func dottedKeysMayAddToTablesTheyMadeInAnyOrder() throws {
        let document = try parse("""
            fruit.apple.smooth = true
            fruit.orange = 2
            apple.type = "fruit"
            orange.type = "fruit"
            apple.skin = "thin"
            orange.skin = "thick"
            apple.color = "red"
            orange.color = "orange"
            """)
        #expect(document["fruit"] == .table(["apple": .table(["smooth": .boolean(true)]), "orange": .integer(2)]))
        #expect(document["apple"]?.table?.keys == ["type", "skin", "color"])
        #expect(document["orange"] == .table(["type": .string("fruit"), "skin": .string("thick"), "color": .string("orange")]))
    }

    @Test func basicStringEscapes() throws {
        let document = try parse(#"str = "I'm a string. \"You can quote me\". Name\tJos\u00E9\nLocation\tSF.""#)
        #expect(document["str"] == .string("I'm a string. \"You can quote me\". Name\tJosé\nLocation\tSF."))
        let all = try parse(#"s = "\b\t\n\f\r\"\\\u0041\U0001F600""#)
        #expect(all["s"] == .string("\u{08}\t\n\u{0C}\r\"\\A😀"))
    }

    @Test func multiLineBasicStrings() throws {
        let document = try parse(#"""
            str1 = """
            Roses are red
            Violets are blue"""
            str2 = "The quick brown fox jumps over the lazy dog."
            str3 = """
            The quick brown \


              fox jumps over \
                the lazy dog."""
            str4 = """\
                   The quick brown \
                   fox jumps over \
                   the lazy dog.\
                   """
            str5 = """Here are two quotation marks: "". Simple enough."""
            str6 = """Here are three quotation marks: ""\"."""
            str7 = """Here are fifteen quotation marks: ""\"""\"""\"""\"""\"."""
            str8 = """"This," she said, "is just a pointless statement.""""
            """#)
        #expect(document["str1"] == .string("Roses are red\nViolets are blue"))
        let fox = "The quick brown fox jumps over the lazy dog."
        #expect(document["str2"] == .string(fox))
        #expect(document["str3"] == .string(fox))
        #expect(document["str4"] == .string(fox))
        #expect(document["str5"] == .string("Here are two quotation marks: \"\". Simple enough."))
        #expect(document["str6"] == .string("Here are three quotation marks: \"\"\"."))
        #expect(document["str7"] == .string("Here are fifteen quotation marks: " + String(repeating: "\"", count: 15) + "."))
        #expect(document["str8"] == .string("\"This,\" she said, \"is just a pointless statement.\""))
    }

    @Test func literalStrings() throws {
        let document = try parse(#"""
            winpath  = 'C:\Users\nodejs\templates'
            winpath2 = '\\ServerX\admin$\system32\'
            quoted   = 'Tom "Dubs" Preston-Werner'
            regex    = '<\i\c*\s*>'
            regex2 = '''I [dw]on't need \d{2} apples'''
            lines  = '''
            The first newline is
            trimmed in raw strings.
               All other whitespace
               is preserved.
            '''
            quot15 = '''Here are fifteen quotation marks: """""""""""""""'''
            apos15 = "Here are fifteen apostrophes: '''''''''''''''"
            str = ''''That,' she said, 'is still pointless.''''
            """#)
        #expect(document["winpath"] == .string(#"C:\Users\nodejs\templates"#))
        #expect(document["winpath2"] == .string(#"\\ServerX\admin$\system32\"#))
        #expect(document["quoted"] == .string("Tom \"Dubs\" Preston-Werner"))
        #expect(document["regex"] == .string(#"<\i\c*\s*>"#))
        #expect(document["regex2"] == .string(#"I [dw]on't need \d{2} apples"#))
        #expect(document["lines"] == .string("The first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n"))
        #expect(document["quot15"] == .string("Here are fifteen quotation marks: " + String(repeating: "\"", count: 15)))
        #expect(document["apos15"] == .string("Here are fifteen apostrophes: " + String(repeating: "'", count: 15)))
        #expect(document["str"] == .string("'That,' she said, 'is still pointless.'"))
    }

    @Test func multiLineStringsKeepLineFeedsForCRLF() throws {
        let document = try parse("a = \"\"\"\r\none\r\ntwo\"\"\"\r\nb = '''x\r\ny'''\r\n")
        #expect(document == ["a": .string("one\ntwo"), "b": .string("x\ny")])
    }

    @Test func integers() throws {
        let document = try parse("""
            int1 = +99
            int2 = 42
            int3 = 0
            int4 = -17
            int5 = 1_000
            int6 = 5_349_221
            int7 = 53_49_221  # Indian number system grouping
            int8 = 1_2_3_4_5  # VALID but discouraged
            hex1 = 0xDEADBEEF
            hex2 = 0xdeadbeef
            hex3 = 0xdead_beef
            oct1 = 0o01234567
            oct2 = 0o755 # useful for Unix file permissions
            bin1 = 0b11010110
            zeros = [+0, -0, 0x0, 0o0, 0b0]
            max = 9_223_372_036_854_775_807
            min = -9223372036854775808
            hexmax = 0x7FFFFFFFFFFFFFFF
            """)
        let expected: [(String, Int64)] = [
            ("int1", 99), ("int2", 42), ("int3", 0), ("int4", -17), ("int5", 1000), ("int6", 5_349_221),
            ("int7", 5_349_221), ("int8", 12345), ("hex1", 0xDEADBEEF), ("hex2", 0xDEADBEEF), ("hex3", 0xDEADBEEF),
            ("oct1", 0o1234567), ("oct2", 0o755), ("bin1", 0b1101_0110), ("max", .max), ("min", .min), ("hexmax", .max),
        ]
        for (key, value) in expected {
            #expect(document[key] == .integer(value), "\(key)")
        }
        #expect(document["zeros"] == .array(Array(repeating: .integer(0), count: 5)))
    }

    @Test func floats() throws {
        let document = try parse("""
            flt1 = +1.0
            flt2 = 3.1415
            flt3 = -0.01
            flt4 = 5e+22
            flt5 = 1e06
            flt6 = -2E-2
            flt7 = 6.626e-34
            flt8 = 224_617.445_991_228
            flt9 = -0.0
            sf1 = inf  # positive infinity
            sf2 = +inf # positive infinity
            sf3 = -inf # negative infinity
            sf4 = nan  # actual sNaN/qNaN encoding is implementation-specific
            sf5 = +nan # same as `nan`
            sf6 = -nan # valid, actual encoding is implementation-specific
            """)
        let expected: [(String, Double)] = [
            ("flt1", 1), ("flt2", 3.1415), ("flt3", -0.01), ("flt4", 5e22), ("flt5", 1e6), ("flt6", -0.02),
            ("flt7", 6.626e-34), ("flt8", 224_617.445_991_228), ("sf1", .infinity), ("sf2", .infinity), ("sf3", -.infinity),
        ]
        for (key, value) in expected {
            #expect(document[key] == .float(value), "\(key)")
        }
        #expect(document["flt9"]?.float?.sign == .minus)
        for key in ["sf4", "sf5", "sf6"] {
            #expect(document[key]?.float?.isNaN == true, "\(key)")
        }
    }

    @Test func booleansDatesAndTimes() throws {
        let document = try parse("""
            bool1 = true
            bool2 = false
            odt1 = 1979-05-27T07:32:00Z
            odt2 = 1979-05-27T00:32:00-07:00
            odt3 = 1979-05-27T00:32:00.999999-07:00
            odt4 = 1979-05-27 07:32:00Z
            ldt1 = 1979-05-27T07:32:00
            ldt2 = 1979-05-27T00:32:00.999999
            ld1 = 1979-05-27
            lt1 = 07:32:00
            lt2 = 00:32:00.999999
            leap = 2000-02-29
            """)
        #expect(document == [
            "bool1": .boolean(true), "bool2": .boolean(false),
            "odt1": .offsetDateTime("1979-05-27T07:32:00Z"), "odt2": .offsetDateTime("1979-05-27T00:32:00-07:00"),
            "odt3": .offsetDateTime("1979-05-27T00:32:00.999999-07:00"), "odt4": .offsetDateTime("1979-05-27 07:32:00Z"),
            "ldt1": .localDateTime("1979-05-27T07:32:00"), "ldt2": .localDateTime("1979-05-27T00:32:00.999999"),
            "ld1": .localDate("1979-05-27"), "lt1": .localTime("07:32:00"), "lt2": .localTime("00:32:00.999999"),
            "leap": .localDate("2000-02-29"),
        ])
    }

    @Test func arrays() throws {
        let document = try parse("""
            integers = [ 1, 2, 3 ]
            colors = [ "red", "yellow", "green" ]
            nested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]
            nested_mixed_array = [ [ 1, 2 ], ["a", "b", "c"] ]
            string_array = [ "all", 'strings', \"\"\"are the same\"\"\", '''type''' ]
            numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]
            contributors = [
              "Foo Bar <foo@example.com>",
              { name = "Baz Qux", email = "bazqux@example.com", url = "https://example.com/bazqux" }
            ]
            integers2 = [
              1, 2, 3
            ]
            integers3 = [
              1,
              2, # this is ok
            ]
            empty = [ ]
            """)
        let oneTwoThree: TOMLValue = .array([.integer(1), .integer(2), .integer(3)])
        #expect(document["integers"] == oneTwoThree)
        #expect(document["integers2"] == oneTwoThree)
        #expect(document["integers3"] == .array([.integer(1), .integer(2)]))
        #expect(document["colors"] == .array([.string("red"), .string("yellow"), .string("green")]))
        #expect(document["nested_arrays_of_ints"] == .array([
            .array([.integer(1), .integer(2)]), .array([.integer(3), .integer(4), .integer(5)]),
        ]))
        #expect(document["nested_mixed_array"] == .array([
            .array([.integer(1), .integer(2)]), .array([.string("a"), .string("b"), .string("c")]),
        ]))
        #expect(document["string_array"] == .array([.string("all"), .string("strings"), .string("are the same"), .string("type")]))
        #expect(document["numbers"] == .array([.float(0.1), .float(0.2), .float(0.5), .integer(1), .integer(2), .integer(5)]))
        #expect(document["contributors"] == .array([
            .string("Foo Bar <foo@example.com>"),
            .table(["name": .string("Baz Qux"), "email": .string("bazqux@example.com"), "url": .string("https://example.com/bazqux")]),
        ]))
        #expect(document["empty"] == .array([]))
    }

    @Test func tables() throws {
        let document = try parse("""
            # Top-level table begins.
            name = "Fido"
            breed = "pug"

            # Top-level table ends.
            [owner]
            name = "Regina Dogman"
            member_since = 1999-08-04

            [table-1]
            key1 = "some string"
            key2 = 123

            [dog."tater.man"]
            type.name = "pug"

            [a.b.c]            # this is best practice
            [ d.e.f ]          # same as [d.e.f]
            [ g .  h  . i ]    # same as [g.h.i]
            [ j . "ʞ" . 'l' ]  # same as [j."ʞ".l]
            """)
        #expect(document.keys == ["name", "breed", "owner", "table-1", "dog", "a", "d", "g", "j"])
        #expect(document["owner"] == .table(["name": .string("Regina Dogman"), "member_since": .localDate("1999-08-04")]))
        #expect(document["table-1"] == .table(["key1": .string("some string"), "key2": .integer(123)]))
        #expect(document["dog"] == .table(["tater.man": .table(["type": .table(["name": .string("pug")])])]))
        #expect(document["a"] == .table(["b": .table(["c": .table([:])])]))
        #expect(document["j"] == .table(["ʞ": .table(["l": .table([:])])]))
    }

    @Test func superTablesMayBeDefinedAfterTheirSubTables() throws {
        let document = try parse("""
            [x.y.z.w] # for this to work
            [x] # defining a super-table afterward is ok
            key = 1
            [fruit.apple]
            [animal]
            [fruit.orange]
            """)
        #expect(document == [
            "x": .table(["y": .table(["z": .table(["w": .table([:])])]), "key": .integer(1)]),
            "fruit": .table(["apple": .table([:]), "orange": .table([:])]),
            "animal": .table([:]),
        ])
    }

    @Test func headersMayAddSubTablesToTablesOfDottedKeys() throws {
        let document = try parse("""
            fruit.apple.color = "red"
            fruit.apple.taste.sweet = true
            [fruit.apple.texture]  # you can add sub-tables
            smooth = true
            """)
        #expect(document["fruit"] == .table(["apple": .table([
            "color": .string("red"), "taste": .table(["sweet": .boolean(true)]), "texture": .table(["smooth": .boolean(true)]),
        ])]))
    }

    @Test func inlineTables() throws {
        let document = try parse("""
            name = { first = "Tom", last = "Preston-Werner" }
            point = { x = 1, y = 2 }
            animal = { type.name = "pug" }
            points = [ { x = 1, y = 2, z = 3 },
                       { x = 7, y = 8, z = 9 } ]
            """)
        #expect(document["name"] == .table(["first": .string("Tom"), "last": .string("Preston-Werner")]))
        #expect(document["point"] == .table(["x": .integer(1), "y": .integer(2)]))
        #expect(document["animal"] == .table(["type": .table(["name": .string("pug")])]))
        #expect(document["points"] == .array([
            .table(["x": .integer(1), "y": .integer(2), "z": .integer(3)]),
            .table(["x": .integer(7), "y": .integer(8), "z": .integer(9)]),
        ]))
    }

    @Test func arraysOfTables() throws {
        let document = try parse("""
            [[products]]
            name = "Hammer"
            sku = 738594937

            [[products]]  # empty table within the array

            [[products]]
            name = "Nail"
            sku = 284758393

            color = "gray"

            [[fruits]]
            name = "apple"

            [fruits.physical]  # subtable
            color = "red"
            shape = "round"

            [[fruits.varieties]]  # nested array of tables
            name = "red delicious"

            [[fruits.varieties]]
            name = "granny smith"

            [[fruits]]
            name = "banana"

            [[fruits.varieties]]
            name = "plantain"
            """)
        #expect(document["products"] == .array([
            .table(["name": .string("Hammer"), "sku": .integer(738_594_937)]),
            .table([:]),
            .table(["name": .string("Nail"), "sku": .integer(284_758_393), "color": .string("gray")]),
        ]))
        #expect(document["fruits"] == .array([
            .table([
                "name": .string("apple"),
                "physical": .table(["color": .string("red"), "shape": .string("round")]),
                "varieties": .array([.table(["name": .string("red delicious")]), .table(["name": .string("granny smith")])]),
            ]),
            .table(["name": .string("banana"), "varieties": .array([.table(["name": .string("plantain")])])]),
        ]))
    }
}
