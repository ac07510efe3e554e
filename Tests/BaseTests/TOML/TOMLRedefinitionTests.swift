import Testing

@testable import Base

/// What the TOML 1.0.0 specification calls invalid although the grammar allows it: keys and
/// tables defined twice, inline tables and static arrays extended. Each refusal names the key
/// and points at it.
@Suite struct TOMLRedefinitionTests {
    private func refusal(_ text: String) -> TOMLDocument.SyntaxError? {
        do {
            _ = try TOMLDocument.parse(text)
            return nil
        } catch {
            return error
        }
    }

    private typealias Case = (text: String, line: Int, column: Int, message: String)

    private func expectRefusals(_ cases: [Case]) {
        for (text, line, column, message) in cases {
            #expect(refusal(text) == TOMLDocument.SyntaxError(line: line, column: column, message: message), "\(text)")
        }
    }

    /// The specification's own invalid examples.
    @Test func refusesTheSpecificationsInvalidExamples() {
        expectRefusals([
            ("name = \"Tom\"\nname = \"Pradyun\"", 2, 1, "'name' is defined twice"),
            ("spelling = \"favorite\"\n\"spelling\" = \"favourite\"", 2, 1, "'spelling' is defined twice"),
            ("fruit.apple = 1\nfruit.apple.smooth = true", 2, 7, "'fruit.apple' is already defined as an integer, not a table"),
            ("[fruit]\napple = \"red\"\n\n[fruit]\norange = \"orange\"", 4, 2, "the table [fruit] is defined twice"),
            ("[fruit]\napple = \"red\"\n\n[fruit.apple]\ntexture = \"smooth\"", 4, 8,
             "'fruit.apple' is already defined as a string, not a table"),
            ("[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple]", 4, 8,
             "the table [fruit.apple] is already defined by dotted keys"),
            ("[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.taste]", 4, 14,
             "the table [fruit.apple.taste] is already defined by dotted keys"),
            ("[product]\ntype = { name = \"Nail\" }\ntype.edible = false", 3, 1, "'product.type' is an inline table, which cannot be extended"),
            ("[product]\ntype.name = \"Nail\"\ntype = { edible = false }", 3, 1, "'product.type' is already defined as a table"),
            ("[fruit.physical]\ncolor = \"red\"\n[[fruit]]", 3, 3, "'fruit' is a table, not an array of tables"),
            ("fruits = []\n\n[[fruits]]", 3, 3,
             "'fruits' is an array value, which cannot be extended (arrays of tables are written [[fruits]])"),
            ("[[fruits]]\nname = \"apple\"\n[[fruits.varieties]]\nname = \"red delicious\"\n[fruits.varieties]", 5, 9,
             "'fruits.varieties' is an array of tables; [[fruits.varieties]] adds a table to it"),
            ("[[fruits]]\n[fruits.physical]\ncolor = \"red\"\n[[fruits.physical]]", 4, 10, "'fruits.physical' is a table, not an array of tables"),
        ])
    }

    @Test func refusesDottedKeysThatReachIntoAnotherSectionsTable() {
        expectRefusals([
            ("[a.b.c]\nz = 9\n[a]\nb.c.t = 1", 4, 3, "the table [a.b.c] is defined by its header; dotted keys elsewhere cannot add to it"),
            ("[[a.b]]\n[a]\nb.c = 1", 3, 1, "'a.b' is an array of tables; dotted keys cannot add to it"),
            ("a = { b = 1, b = 2 }", 1, 14, "'a.b' is defined twice"),
            ("a = { b.c = 1, b.d = 2, b = 3 }", 1, 25, "'a.b' is already defined as a table"),
            ("a = { b = { c = 1 }, b.d = 2 }", 1, 22, "'a.b' is an inline table, which cannot be extended"),
            ("a = [{ b = 1 }]\n[a.c]", 2, 2, "'a' is an array value, which cannot be extended (arrays of tables are written [[a]])"),
            ("a = {}\n[[a]]", 2, 3, "'a' is an inline table, which cannot be extended"),
            ("a = true\n[[a]]", 2, 3, "'a' is already defined as a boolean, not an array of tables"),
            ("[a]\n[a.b]\n[a.b]", 3, 4, "the table [a.b] is defined twice"),
            ("\"a\" = 1\n'a' = 2", 2, 1, "'a' is defined twice"),
            ("\"a b\".c = 1\n\"a b\" = 2", 2, 1, "'\"a b\"' is already defined as a table"),
        ])
    }

    /// A table a dotted key walked through (implicitly created by a deeper header) is then the
    /// dotted key's: a header may not define it afterwards.
    @Test func letsDottedKeysClaimImplicitTables() throws {
        let document = try TOMLDocument.parse("[a.b.c]\n[a]\nb.d = 1")
        #expect(document["a"] == .table(["b": .table(["c": .table([:]), "d": .integer(1)])]))
        #expect(refusal("[a.b.c]\n[a]\nb.d = 1\n[a.b]")
            == TOMLDocument.SyntaxError(line: 4, column: 4, message: "the table [a.b] is already defined by dotted keys"))
    }

    @Test func addsTablesOfLaterHeadersToTheLastElementOfAnArrayOfTables() throws {
        let document = try TOMLDocument.parse("[[a]]\nx = 1\n[[a]]\nx = 2\n[a.b]\ny = 3\n[[a.c]]\n")
        #expect(document["a"] == .array([
            .table(["x": .integer(1)]),
            .table(["x": .integer(2), "b": .table(["y": .integer(3)]), "c": .array([.table([:])])]),
        ]))
    }
}
