@testable import Estimator
import Base
import Testing

/// The tokenizer's lookups, its refusals of what it does not implement, and hostile files.
@Suite struct TokenizerTests {
    /// A tiny byte-level BPE: vocabulary a b ab c, one merge, with `parts` spliced into the root.
    static func json(_ parts: String = "", model: String? = nil) -> [UInt8] {
        let m = model ?? #"{"type": "BPE", "dropout": null, "unk_token": null, "vocab": {"a": 0, "b": 1, "ab": 2, "c": 3}, "merges": ["a b"]}"#
        return Array(#"{"version": "1.0", \#(parts) "model": \#(m)}"#.utf8)
    }

    static func tokenizer(_ parts: String = "", model: String? = nil) throws(CheckpointError) -> Tokenizer {
        try Tokenizer(json: json(parts, model: model), source: "tokenizer.json")
    }

    static func code(_ body: () throws -> Void) -> String? {
        do { try body() } catch let error as CheckpointError { return error.code } catch { return "other" }
        return nil
    }

    @Test func idOfFindsVocabularyAndAddedTokens() throws {
        let (gpt2, _) = try TokenizerFixtureTests.load("gpt2")
        #expect(gpt2.id(of: "<|endoftext|>") == 2500)
        #expect(gpt2.id(of: "<mask>") == 2501)
        #expect(gpt2.id(of: "!") == 0)
        #expect(gpt2.id(of: "not a token at all") == nil)
        let (pythia, _) = try TokenizerFixtureTests.load("pythia")
        #expect(pythia.id(of: "<|endoftext|>") == 0)
        #expect(pythia.id(of: "<|padding|>") == 1)
        let (llama3, _) = try TokenizerFixtureTests.load("llama3")
        #expect(llama3.id(of: "<|begin_of_text|>") == 3000)
        #expect(try llama3.encode("hi").first == 3000)
        #expect(try llama3.encode("hi", addSpecialTokens: false).first != 3000)
    }

    @Test func mergesInBothJSONFormsGiveTheSameIds() throws {
        let strings = try Self.tokenizer()
        let pairs = try Self.tokenizer(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "c": 3}, "merges": [["a", "b"]]}"#)
        #expect(try strings.encode("abcab") == [2, 3, 2])
        #expect(try pairs.encode("abcab") == [2, 3, 2])
        // No unknown token: characters outside the vocabulary are dropped before merging, as the
        // library does.
        #expect(try strings.encode("axb") == [2])
    }

    @Test func templateAndAddedTokensApply() throws {
        let t = try Self.tokenizer(#"""
            "added_tokens": [{"id": 4, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
            "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [4], "tokens": ["<s>"]}}},
            """#)
        #expect(try t.encode("ab<s>c") == [4, 2, 4, 3])
        #expect(try t.encode("ab<s>c", addSpecialTokens: false) == [2, 4, 3])
        #expect(t.id(of: "<s>") == 4)
    }

    @Test func unsupportedComponentsAreNamed() {
        let cases: [(String, String)] = [
            (#""normalizer": {"type": "BertNormalizer", "clean_text": true},"#, "BertNormalizer"),
            (#""normalizer": {"type": "NFKC"},"#, "NFKC"),
            (#""pre_tokenizer": {"type": "Whitespace"},"#, "Whitespace"),
            (#""pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "UnicodeScripts"}]},"#, "UnicodeScripts"),
            (#""post_processor": {"type": "Made-up"},"#, "Made-up"),
            (#""pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?<=a)b"}, "behavior": "Isolated", "invert": false},"#, "lookbehind"),
            (#""pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\p{Han}+"}, "behavior": "Isolated", "invert": false},"#, "Han"),
        ]
        for (part, name) in cases {
            do {
                _ = try Self.tokenizer(part)
                Issue.record("accepted \(name)")
            } catch {
                #expect(error.code == "tokenizer.unsupported", "\(name)")
                #expect(error.detail.contains(name), "\(error.detail)")
            }
        }
        for model in [#"{"type": "WordPiece", "vocab": {}}"#, #"{"type": "Unigram", "vocab": []}"#] {
            #expect(Self.code { _ = try Self.tokenizer(model: model) } == "tokenizer.unsupported")
        }
        #expect(Self.code { _ = try Self.tokenizer(model: #"{"type": "BPE", "dropout": 0.1, "vocab": {}, "merges": []}"#) } == "tokenizer.unsupported")
    }

    @Test func malformedFilesGiveSpecificErrors() throws {
        #expect(Self.code { _ = try Tokenizer(json: Array("{\"model\": ".utf8), source: "t.json") } == "tokenizer.malformed")
        #expect(Self.code { _ = try Tokenizer(json: Array("[1, 2]".utf8), source: "t.json") } == "tokenizer.malformed")
        #expect(Self.code { _ = try Tokenizer(json: Array("{}".utf8), source: "t.json") } == "tokenizer.malformed")
        do {
            _ = try Self.tokenizer(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}"#)
            Issue.record("accepted a merge whose result is not in the vocabulary")
        } catch {
            #expect(error.code == "tokenizer.merge_unknown_token")
            #expect(error.detail.contains("model.merges[0]"))
        }
        do {
            _ = try Self.tokenizer(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a z"]}"#)
            Issue.record("accepted a merge of an unknown token")
        } catch {
            #expect(error.detail.contains("model.merges[1]") && error.detail.contains("\"z\""))
        }
        #expect(Self.code { _ = try Self.tokenizer(model: #"{"type": "BPE", "vocab": {"a": "zero"}, "merges": []}"#) } == "tokenizer.malformed")
        #expect(Self.code { _ = try Self.tokenizer(model: #"{"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}"#) } == "tokenizer.malformed")
        #expect(Self.code { _ = try Self.tokenizer(model: #"{"type": "BPE", "unk_token": "<unk>", "vocab": {"a": 0}, "merges": []}"#) } == "tokenizer.unknown_token_missing")
        #expect(Self.code { _ = try Self.tokenizer(#""pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated", "invert": false},"#) } == "tokenizer.malformed")
        #expect(Self.code { _ = try Self.tokenizer(#""pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways", "invert": false},"#) } == "tokenizer.malformed")
        #expect(Self.code { _ = try Self.tokenizer(#""version": "2.0","#) } != nil)
        #expect(Self.code { _ = try Tokenizer(path: "/nonexistent/tokenizer.json") }?.hasPrefix("file.") == true)
        // Truncated fixtures are refused, never crash.
        let bytes = try readBytes(Fixtures.path("tokenizers/llama3/tokenizer.json"))
        for cut in stride(from: 0, to: bytes.count, by: bytes.count / 37) {
            #expect(Self.code { _ = try Tokenizer(json: Array(bytes[..<cut]), source: "cut.json") } == "tokenizer.malformed")
        }
    }

    @Test func catastrophicPatternsStopAtTheirStepBudget() throws {
        let t = try Self.tokenizer(#""pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(a|a|aa)*c"}, "behavior": "Isolated", "invert": false},"#)
        let text = String(repeating: "a", count: 200)
        #expect(Self.code { _ = try t.encode(text) } == "tokenizer.pattern_too_complex")
    }

    @Test func encodesTheMixedTextQuickly() throws {
        let (tokenizer, expected) = try TokenizerFixtureTests.load("llama3")
        let text = String(repeating: try TokenizerFixtureTests.mixedText(), count: 10)
        let clock = ContinuousClock()
        var count = 0
        let start = clock.now
        count = try tokenizer.encode(text, addSpecialTokens: false).count
        let elapsed = clock.now - start
        // Pieces merge across the joins, so the count is close to, not exactly, ten times.
        #expect(abs(count - 10 * expected.mixedNoSpecial.count) < 100)
        // About 100k tokens; well under a second in release builds.
        #expect(elapsed < .seconds(5))
    }
}
