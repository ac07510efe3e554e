@testable import Estimator
import Testing

@Suite struct TextDocumentsTests {
    static func code(_ body: () throws -> Void) -> (code: String, detail: String)? {
        do { try body() } catch let error as CheckpointError { return (error.code, error.detail) } catch { return ("other", "") }
        return nil
    }

    @Test func aTextFileIsOneDocument() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("eval.txt", "first line\n\nsecond line\n")
        #expect(try TextDocuments.read(path) == ["first line\n\nsecond line\n"])
        #expect(try TextDocuments.read(path, documents: 0..<1) == ["first line\n\nsecond line\n"])
        let out = Self.code { _ = try TextDocuments.read(path, documents: 1..<2) }
        #expect(out?.code == "text.documents_out_of_range")
        #expect(out?.detail.contains("1 document") == true)
    }

    @Test func jsonLinesAreOneDocumentEach() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("eval.jsonl", "{\"text\": \"one\", \"meta\": 1}\n\n   \r\n{\"text\": \"two\\nlines\"}\r\n{\"id\": 3, \"text\": \"thr\\u00e9e\"}")
        #expect(try TextDocuments.read(path) == ["one", "two\nlines", "thrée"])
        #expect(try TextDocuments.read(path, documents: 1..<3) == ["two\nlines", "thrée"])
        let out = Self.code { _ = try TextDocuments.read(path, documents: 2..<5) }
        #expect(out?.code == "text.documents_out_of_range")
        #expect(out?.detail.contains("3 documents") == true)
    }

    @Test func badJSONLinesNameTheLine() throws {
        let dir = try TemporaryDirectory()
        let cases: [(String, String)] = [
            ("{\"text\": \"a\"}\n{\"text\": \"b\"\n", "text.jsonl_syntax"),
            ("{\"text\": \"a\"}\n[\"b\"]\n", "text.jsonl_syntax"),
            ("{\"text\": \"a\"}\n{\"body\": \"b\"}\n", "text.jsonl_missing_text"),
            ("{\"text\": \"a\"}\n{\"text\": 7}\n", "text.jsonl_not_string"),
        ]
        for (i, (content, code)) in cases.enumerated() {
            let path = try dir.write("bad\(i).jsonl", content)
            let out = Self.code { _ = try TextDocuments.read(path) }
            #expect(out?.code == code)
            #expect(out?.detail.hasPrefix("line 2:") == true, "\(out?.detail ?? "")")
        }
    }

    @Test func invalidUTF8NamesTheByteOffset() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("eval.txt", Array("héllo ".utf8) + [0xFF, 0x41])
        let out = Self.code { _ = try TextDocuments.read(path) }
        #expect(out?.code == "text.invalid_utf8")
        #expect(out?.detail == "invalid UTF-8 at byte 7")
        let jsonl = try dir.write("eval.jsonl", Array("{\"text\": \"a\"}\n{\"text\": \"".utf8) + [0xC3] + Array("\"}\n".utf8))
        #expect(Self.code { _ = try TextDocuments.read(jsonl) }?.code == "text.jsonl_syntax")
    }

    @Test func emptyAndMissingFilesAreErrors() throws {
        let dir = try TemporaryDirectory()
        #expect(Self.code { _ = try TextDocuments.read(try dir.write("empty.txt", "")) }?.code == "text.empty")
        #expect(Self.code { _ = try TextDocuments.read(try dir.write("blank.jsonl", "\n\n")) }?.code == "text.empty")
        #expect(Self.code { _ = try TextDocuments.read(dir.path + "/missing.txt") }?.code.hasPrefix("file.") == true)
    }

    @Test func theMixedFixtureTokenizesAsOneDocument() throws {
        let documents = try TextDocuments.read(Fixtures.path("tokenizers/mixed.txt"))
        let (tokenizer, expected) = try TokenizerFixtureTests.load("pythia")
        #expect(try tokenizer.encode(documents[0]) == expected.mixed)
    }
}
