@testable import Estimator
import Base
import Testing

/// The ids `tokenizers` 0.23.3 gave for the fixtures' mixed text and tricky strings
/// (`fixtures/tokenizers/make_tokenizers.py`).
@Suite struct TokenizerFixtureTests {
    struct Expected {
        var mixed: [Int32]
        var mixedNoSpecial: [Int32]
        var cases: [(text: String, ids: [Int32], idsNoSpecial: [Int32])]
    }

    static func load(_ name: String) throws -> (Tokenizer, Expected) {
        let tokenizer = try Tokenizer(path: Fixtures.path("tokenizers/\(name)/tokenizer.json"))
        let json = try JSONValue.parse(try SafeFileText.read(Fixtures.path("tokenizers/\(name)/expected.json")), maxDepth: 8)
        func ids(_ v: JSONValue?) -> [Int32] { (v?.arrayValue ?? []).map { Int32($0.intValue!) } }
        let cases = (json["cases"]?.arrayValue ?? []).map { c in
            let a = c.arrayValue!
            return (a[0].stringValue!, ids(a[1]), ids(a[2]))
        }
        let mixed = ids(json["mixed"])
        let plain = json["mixed_no_special"].flatMap { $0.isNull ? nil : ids($0) } ?? mixed
        return (tokenizer, Expected(mixed: mixed, mixedNoSpecial: plain, cases: cases))
    }

    static func mixedText() throws -> String { try SafeFileText.read(Fixtures.path("tokenizers/mixed.txt")) }

    @Test(arguments: ["gpt2", "pythia", "llama3", "llama2"])
    func mixedTextGivesTheLibrarysIds(name: String) throws {
        let (tokenizer, expected) = try Self.load(name)
        let text = try Self.mixedText()
        #expect(expected.mixed.count >= 10_000)
        let ids = try tokenizer.encode(text)
        #expect(ids == expected.mixed)
        if ids != expected.mixed, let i = zip(ids, expected.mixed).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            Issue.record("\(name): first difference at \(i): got \(ids[i..<min(ids.count, i + 8)]) expected \(expected.mixed[i..<min(expected.mixed.count, i + 8)])")
        }
        #expect(try tokenizer.encode(text, addSpecialTokens: false) == expected.mixedNoSpecial)
    }

    @Test(arguments: ["gpt2", "pythia", "llama3", "llama2"])
    func trickyStringsGiveTheLibrarysIds(name: String) throws {
        let (tokenizer, expected) = try Self.load(name)
        #expect(expected.cases.count > 400)
        var failures = 0
        for c in expected.cases {
            let ids = try tokenizer.encode(c.text)
            let plain = try tokenizer.encode(c.text, addSpecialTokens: false)
            if ids != c.ids || plain != c.idsNoSpecial {
                failures += 1
                if failures <= 10 {
                    Issue.record("\(name): \(c.text.unicodeScalars.map { String($0.value, radix: 16) }) got \(ids) expected \(c.ids)")
                }
            }
        }
        #expect(failures == 0)
    }

    /// Other normalizers, pre-tokenizers, post-processors and BPE options, as variants of the
    /// fixtures (`components.json`: the keys replaced, and the library's ids).
    @Test func componentVariantsGiveTheLibrarysIds() throws {
        let variants = try JSONValue.parse(try SafeFileText.read(Fixtures.path("tokenizers/components.json")), maxDepth: 32)
        #expect(variants.arrayValue?.count == 7)
        for v in variants.arrayValue ?? [] {
            let name = v["name"]!.stringValue!, baseName = v["base"]!.stringValue!
            var base = try JSONValue.parse(try SafeFileText.read(Fixtures.path("tokenizers/\(baseName)/tokenizer.json"))).objectValue!
            for (key, value) in v["change"]!.objectValue!.entries {
                if key == "model_options" {
                    var model = base["model"]!.objectValue!
                    for (option, setting) in value.objectValue!.entries { model[option] = setting }
                    base["model"] = .object(model)
                } else {
                    base[key] = value
                }
            }
            let tokenizer = try Tokenizer(json: Array(JSONValue.object(base).serialized().utf8), source: name)
            let (_, expected) = try Self.load(baseName)
            var failures = 0
            for (i, c) in (v["cases"]!.arrayValue!).enumerated() {
                let text = expected.cases[i].text
                let want = c.arrayValue!.map { $0.arrayValue!.map { Int32($0.intValue!) } }
                let got = [try tokenizer.encode(text), try tokenizer.encode(text, addSpecialTokens: false)]
                if got != want {
                    failures += 1
                    if failures <= 5 { Issue.record("\(name): \(text.unicodeScalars.map { String($0.value, radix: 16) }) got \(got) expected \(want)") }
                }
            }
            #expect(failures == 0, "\(name)")
        }
    }
}
