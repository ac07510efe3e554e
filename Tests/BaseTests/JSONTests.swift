import Testing
@testable import Base

@Suite struct JSONTests {
    @Test func keepsLargeIntegersExact() throws {
        let v = try JSONValue.parse(#"{"a": 18446744073709551615, "b": 9007199254740993}"#)
        #expect(v["b"]?.intValue == 9_007_199_254_740_993)
        // Beyond Int64: no silent rounding, just no integer value.
        #expect(v["a"]?.intValue == nil)
    }

    @Test func rejectsDuplicateKeysWithOffset() {
        #expect(throws: JSONError.self) { try JSONValue.parse(#"{"x": 1, "x": 2}"#) }
        do {
            _ = try JSONValue.parse(#"{"x": 1, "x": 2}"#)
        } catch {
            #expect(error.offset == 9)
            #expect(error.description.contains("duplicate key \"x\""))
        }
    }

    @Test func rejectsDeepNestingInsteadOfCrashing() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONError.self) { try JSONValue.parse(deep) }
    }

    @Test func rejectsTrailingGarbageAndBadEscapes() {
        for text in ["{} x", #""\q""#, #""\ud800""#, "[1,]", "01", "\"a\u{01}\""] {
            #expect(throws: JSONError.self, "\(text)") { try JSONValue.parse(text) }
        }
    }

    @Test func roundTripsStringsAndOrder() throws {
        let text = #"{"z":"a\"b\\c\n\u00e9\ud83d\ude00","a":[true,false,null,-1.5e3]}"#
        let v = try JSONValue.parse(text)
        #expect(v.objectValue?.keys == ["z", "a"])
        #expect(v["z"]?.stringValue == "a\"b\\c\né😀")
        #expect(try JSONValue.parse(v.serialized()) == v)
        #expect(v["a"]?.arrayValue?[3].doubleValue == -1500)
    }
}
