import Testing
@testable import Estimator

@Suite struct TokenPackingTests {
    @Test func documentsAreJoinedWithEOSAndCutIntoRows() throws {
        let packing = TokenPacking(sequenceLength: 4, sequences: 10, eos: 0)
        let rows = try packing.pack(documents: [[1, 2, 3], [4, 5], [6, 7, 8, 9]], source: "t")
        // 1 2 3 0 | 4 5 0 6 | 7 8 9 (partial, dropped)
        #expect(rows.shape == [2, 4])
        #expect(rows.scalars == [1, 2, 3, 0, 4, 5, 0, 6])
    }

    @Test func withoutEOSDocumentsAreJoinedDirectly() throws {
        let rows = try TokenPacking(sequenceLength: 3, sequences: 10).pack(documents: [[1, 2], [3, 4], [5, 6]], source: "t")
        #expect(rows.shape == [2, 3])
        #expect(rows.scalars == [1, 2, 3, 4, 5, 6])
    }

    @Test func noEOSAfterTheLastDocumentOrBeforeTheFirst() throws {
        let rows = try TokenPacking(sequenceLength: 3, sequences: 10, eos: 9).pack(documents: [[1], [2, 3]], source: "t")
        #expect(rows.scalars == [1, 9, 2])
    }

    @Test func atMostSequencesRowsAreKept() throws {
        let packing = TokenPacking(sequenceLength: 2, sequences: 3, eos: 0)
        let stream = try packing.pack(stream: Array(1...100), source: "t")
        #expect(stream.shape == [3, 2])
        #expect(stream.scalars == [1, 2, 3, 4, 5, 6])
        let documents = try packing.pack(documents: Array(repeating: [7, 7, 7], count: 1000), source: "t")
        #expect(documents.shape == [3, 2])
        #expect(documents.scalars == [7, 7, 7, 0, 7, 7])
    }

    @Test func aStreamLeavesItsPartialLastRow() throws {
        let rows = try TokenPacking(sequenceLength: 4, sequences: 20).pack(stream: Array(1...11), source: "t")
        #expect(rows.shape == [2, 4])
        #expect(rows.scalars == Array(1...8))
    }

    @Test func dataShorterThanOneRowIsAnError() {
        let e = #expect(throws: CheckpointError.self) {
            try TokenPacking(sequenceLength: 8, sequences: 2, eos: 0).pack(documents: [[1, 2, 3], [4]], source: "eval.jsonl")
        }
        #expect(e?.code == "eval.too_short")
        #expect(e?.file == "eval.jsonl")
        #expect(e?.detail == "the data holds 5 tokens, fewer than one row of sequence_length 8")
        #expect(throws: CheckpointError.self) { try TokenPacking(sequenceLength: 8).pack(documents: [], source: "t") }
        #expect(throws: CheckpointError.self) { try TokenPacking(sequenceLength: 2).pack(stream: [1], source: "t") }
    }

    @Test func defaultsAreThePapersPythiaEval() {
        let packing = TokenPacking()
        #expect(packing.sequenceLength == 512)
        #expect(packing.sequences == 20)
        #expect(packing.eos == nil)
        #expect(packing.canonical == "sequence_length=512,sequences=20,eos=none")
        #expect(TokenPacking(sequenceLength: 128, sequences: 4, eos: 50256).canonical == "sequence_length=128,sequences=4,eos=50256")
    }

    @Test func fixtureDocumentsPackIntoRows() throws {
        guard case .documents(let documents) = try TokenFile.read(Fixtures.path("token-files/neox_uint16_text_document")) else {
            Issue.record("not documents"); return
        }
        // 50 + 33 + 8 + 100 ids and 3 EOS: 194 ids, 6 rows of 32.
        let rows = try TokenPacking(sequenceLength: 32, sequences: 20, eos: 0).pack(documents: documents, source: "t")
        #expect(rows.shape == [6, 32])
        #expect(Array(rows.scalars[0..<50]) == documents[0])
        #expect(rows.scalars[50] == 0)
        #expect(Array(rows.scalars[51..<84]) == documents[1])
    }
}
