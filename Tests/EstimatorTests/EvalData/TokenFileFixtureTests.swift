import Base
import Testing
@testable import Estimator

/// The fixtures in `fixtures/token-files/`, written by numpy and megatron-core, read back as
/// exactly the ids `make_token_files.py` recorded in `expected.json`.
@Suite struct TokenFileFixtureTests {
    static let expected: JSONObject = {
        let text = try! readBytes(Fixtures.path("token-files/expected.json"))
        return try! JSONValue.parse(text).objectValue!
    }()

    static func ids(_ value: JSONValue?) -> [Int32] {
        value!.arrayValue!.map { Int32($0.intValue!) }
    }

    static let fixtureNames: [String] = expected.keys

    @Test(arguments: fixtureNames)
    func readsTheIdsItsWriterStored(name: String) throws {
        let entry = Self.expected[name]!
        let source = try TokenFile.read(Fixtures.path("token-files/" + name))
        switch (entry["form"]!.stringValue!, source) {
        case ("rows", .rows(let tensor)):
            #expect(tensor.shape == entry["shape"]!.arrayValue!.map { $0.intValue! })
            #expect(tensor.scalars == Self.ids(entry["ids"]))
        case ("stream", .stream(let ids)):
            #expect(ids == Self.ids(entry["ids"]))
        case ("documents", .documents(let documents)):
            #expect(documents == entry["documents"]!.arrayValue!.map { Self.ids($0) })
        default:
            Issue.record("\(name): read as \(source), expected \(entry["form"]!)")
        }
    }

    @Test func fixturesCoverEveryForm() {
        #expect(Self.fixtureNames.count == 12)
        #expect(Self.fixtureNames.contains("megatron_int32_text_document"))
        #expect(Self.fixtureNames.contains("documents.jsonl"))
    }

    @Test func indexedDatasetIsNamedByPrefixOrEitherFile() throws {
        let prefix = Fixtures.path("token-files/megatron_int32_text_document")
        let all = Self.expected["megatron_int32_text_document"]!["documents"]!.arrayValue!.map { Self.ids($0) }
        for path in [prefix, prefix + ".bin", prefix + ".idx"] {
            guard case .documents(let documents) = try TokenFile.read(path) else {
                Issue.record("\(path): not documents"); continue
            }
            #expect(documents == all)
        }
    }

    @Test func documentsPicksARangeOfDocuments() throws {
        let prefix = Fixtures.path("token-files/megatron_int32_text_document")
        let all = Self.expected["megatron_int32_text_document"]!["documents"]!.arrayValue!.map { Self.ids($0) }
        #expect(all.count == 6)
        guard case .documents(let middle) = try TokenFile.read(prefix, documents: 2..<5) else { Issue.record("not documents"); return }
        #expect(middle == Array(all[2..<5]))
        // Document 3 is three sequences (4 + 9 + 2 ids), joined.
        #expect(middle[1].count == 15)

        let jsonl = Fixtures.path("token-files/documents.jsonl")
        let lines = Self.expected["documents.jsonl"]!["documents"]!.arrayValue!.map { Self.ids($0) }
        // The blank line after the third document does not count as one.
        guard case .documents(let picked) = try TokenFile.read(jsonl, documents: 3..<6) else { Issue.record("not documents"); return }
        #expect(picked == Array(lines[3..<6]))
        guard case .documents(let first) = try TokenFile.read(jsonl, documents: 0..<1) else { Issue.record("not documents"); return }
        #expect(first == [lines[0]])
    }

    /// Packing needs `sequences × sequence_length` ids: an indexed dataset is read up to the
    /// document that reaches them, not to its end.
    @Test func indexedDatasetStopsAtTheTokenLimit() throws {
        let prefix = Fixtures.path("token-files/megatron_int32_text_document")
        let all = Self.expected["megatron_int32_text_document"]!["documents"]!.arrayValue!.map { Self.ids($0) }
        let limit = all[0].count + all[1].count
        guard case .documents(let two) = try TokenFile.read(prefix, tokenLimit: limit) else { Issue.record("not documents"); return }
        #expect(two == Array(all[0..<2]))
        guard case .documents(let three) = try TokenFile.read(prefix, tokenLimit: limit + 1) else { Issue.record("not documents"); return }
        #expect(three == Array(all[0..<3]))
        guard case .documents(let fromTwo) = try TokenFile.read(prefix, documents: 2..<6, tokenLimit: 1) else { Issue.record("not documents"); return }
        #expect(fromTwo == [all[2]])
    }

    @Test func documentsOutOfRangeNamesTheCount() {
        let error = #expect(throws: CheckpointError.self) {
            try TokenFile.read(Fixtures.path("token-files/megatron_int32_text_document"), documents: 0..<20)
        }
        #expect(error?.code == "tokens.documents_out_of_range")
        #expect(error?.detail.contains("0:20") == true)
        #expect(error?.detail.contains("6 documents") == true)

        let jsonl = #expect(throws: CheckpointError.self) {
            try TokenFile.read(Fixtures.path("token-files/documents.jsonl"), documents: 4..<7)
        }
        #expect(jsonl?.code == "tokens.documents_out_of_range")
        #expect(jsonl?.detail.contains("6 documents") == true)

        let empty = #expect(throws: CheckpointError.self) {
            try TokenFile.read(Fixtures.path("token-files/documents.jsonl"), documents: 2..<2)
        }
        #expect(empty?.code == "tokens.empty")
    }

    @Test func documentsForANumpyFileIsAnError() {
        let error = #expect(throws: CheckpointError.self) {
            try TokenFile.read(Fixtures.path("token-files/stream_int64.npy"), documents: 0..<2)
        }
        #expect(error?.code == "tokens.documents_unsupported")
    }

    @Test func missingFilesAndOtherFormsAreErrors() {
        let missing = #expect(throws: CheckpointError.self) {
            try TokenFile.read(Fixtures.path("token-files/no_such_text_document"))
        }
        #expect(missing?.code == "file.not_found")
        #expect(missing?.file?.hasSuffix("no_such_text_document.idx") == true)

        let text = #expect(throws: CheckpointError.self) { try TokenFile.read(Fixtures.path("token-files/expected.json")) }
        #expect(text?.code == "tokens.unsupported")
    }

    @Test func filesNamesTheBytesOfEachForm() {
        #expect(TokenFile.files("data/eval.npy") == ["data/eval.npy"])
        #expect(TokenFile.files("eval.JSONL") == ["eval.JSONL"])
        #expect(TokenFile.files("data/pile_text_document") == ["data/pile_text_document.bin", "data/pile_text_document.idx"])
        #expect(TokenFile.files("data/pile_text_document.bin") == ["data/pile_text_document.bin", "data/pile_text_document.idx"])
        #expect(TokenFile.files("data/pile_text_document.idx") == ["data/pile_text_document.bin", "data/pile_text_document.idx"])
        // A dotted prefix is named by its .idx or .bin; other extensions are no token file.
        #expect(TokenFile.files("data/pile.val.idx") == ["data/pile.val.bin", "data/pile.val.idx"])
        #expect(TokenFile.files("data/pile.v1_text_document") == ["data/pile.v1_text_document.bin", "data/pile.v1_text_document.idx"])
        #expect(TokenFile.files("data/pile.val") == nil)
        #expect(TokenFile.files("eval.txt") == nil)
        #expect(TokenFile.files("eval.safetensors") == nil)
        #expect(TokenFile.files("data/") == nil)
        #expect(TokenFile.files("") == nil)
        #expect(TokenFile.files("data/.npy") == nil)
        #expect(TokenFile.files("data/.idx") == nil)
    }
}
