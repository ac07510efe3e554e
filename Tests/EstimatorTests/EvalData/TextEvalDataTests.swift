import Base
import Foundation
import Testing
@testable import Estimator

/// Packed eval data end to end: text documents read, tokenized with the run's `tokenizer.json`
/// (ids as the `tokenizers` library gives them, fixtures/text-eval/make_text_eval.py), token
/// files' documents, both packed with the EOS from the checkpoint's `config.json`.
@Suite struct PackedEvalDataTests {
    struct Expected: Decodable {
        let eos: Int32
        let sequence_length: Int
        let txt: [[Int32]]
        let jsonl: [[Int32]]
        let jsonl_documents_1_3: [[Int32]]
    }

    let expected: Expected
    let run: TemporaryDirectory
    let checkpoint: CheckpointFolder

    /// A run folder holding neox-tiny's checkpoint-60 (vocabulary: the 256 bytes) and the text fixture.
    init() throws {
        expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("text-eval/expected_ids.json"))))
        run = try TemporaryDirectory()
        for name in ["tokenizer.json", "eval.txt", "eval.jsonl"] {
            try run.write(name, Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("text-eval/" + name)))))
        }
        for name in ["config.json", "model.safetensors"] {
            try run.write("checkpoint-60/" + name, Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("neox-tiny/checkpoint-60/" + name)))))
        }
        checkpoint = try CheckpointFolder(path: run.path + "/checkpoint-60")
    }

    private func rows(_ spec: EvalDataSpec) throws -> (ids: [[Int32]], set: EvalDataSet) {
        let set = try EvalDataSet(spec: spec, runFolder: run.path, checkpoint: checkpoint)
        guard case .tokens(let ids, let mask) = set.data else { Issue.record("expected tokens"); return ([], set) }
        #expect(mask == nil)
        let width = ids.shape[1]
        return (stride(from: 0, to: ids.count, by: width).map { Array(ids.scalars[$0..<$0 + width]) }, set)
    }

    @Test func tokenizesAndPacksTextAsTheTokenizersLibrary() throws {
        let (ids, set) = try rows(EvalDataSpec(form: .text, file: "eval.txt", sequenceLength: 64))
        #expect(ids == expected.txt)
        #expect(set.provenance.eos == expected.eos)
        #expect(set.provenance.tokenizer == "tokenizer.json")
        #expect(set.provenance.tokenizerSHA256 == (try EvalDataFile.fingerprint(ofFile: run.path + "/tokenizer.json")))
        #expect(set.provenance.dataSHA256 == [try EvalDataFile.fingerprint(ofFile: run.path + "/eval.txt")])
        #expect(set.provenance.rows == expected.txt.count && set.provenance.rowLength == 64)
        #expect(set.fingerprint == (try EvalDataSet.fingerprint(spec: set.spec, runFolder: run.path, checkpoint: checkpoint)))
    }

    @Test func joinsJSONLinesDocumentsWithEOS() throws {
        #expect(try rows(EvalDataSpec(form: .text, file: "eval.jsonl", sequenceLength: 64)).ids == expected.jsonl)
        #expect(try rows(EvalDataSpec(form: .text, file: "eval.jsonl", sequenceLength: 64, documents: 1..<3)).ids == expected.jsonl_documents_1_3)
        #expect(try rows(EvalDataSpec(form: .text, file: "eval.jsonl", sequenceLength: 64, sequences: 2)).ids == Array(expected.jsonl.prefix(2)))
    }

    @Test func checkpointTokenizerWinsOverTheRunFolders() throws {
        let spec = EvalDataSpec(form: .text, file: "eval.txt", sequenceLength: 64)
        let before = try EvalDataSet.fingerprint(spec: spec, runFolder: run.path, checkpoint: checkpoint)
        try run.write("checkpoint-60/tokenizer.json", Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("text-eval/tokenizer.json")))) + [10])
        let after = try EvalDataSet(spec: spec, runFolder: run.path, checkpoint: checkpoint)
        #expect(after.provenance.tokenizer == "checkpoint-60/tokenizer.json")
        #expect(after.fingerprint != before)
    }

    @Test func packsTokenFileDocumentsWithTheCheckpointsEOS() throws {
        let prefix = Fixtures.path("token-files/megatron_int32_text_document")
        guard case .documents(let documents) = try TokenFile.read(prefix) else { Issue.record("not documents"); return }
        let stream = Array(documents.map { $0 }.joined(separator: [expected.eos]))
        let spec = EvalDataSpec(form: .tokens, file: prefix, sequenceLength: 5, sequences: 3)
        let (ids, set) = try rows(spec)
        #expect(ids == [Array(stream[0..<5]), Array(stream[5..<10]), Array(stream[10..<15])])
        #expect(set.provenance.eos == expected.eos && set.provenance.tokenizer == nil)
        #expect(set.provenance.dataSHA256 == [try EvalDataFile.fingerprint(ofFile: prefix + ".bin"), try EvalDataFile.fingerprint(ofFile: prefix + ".idx")])
        // A token file does not need the tokenizer: one volumed cannot read is no obstacle.
        try run.write("tokenizer.json", #"{"model": {"type": "WordPiece", "vocab": {}}}"#)
        #expect(try rows(spec).ids == ids)
        #expect(throws: CheckpointError.self) { try rows(EvalDataSpec(form: .text, file: "eval.txt")) }
        // A rank-2 .npy is used as it is.
        let (rows2, _) = try rows(EvalDataSpec(form: .tokens, file: Fixtures.path("token-files/rows_int32.npy"), sequenceLength: 5))
        #expect(rows2.count == 4 && rows2[0].count == 16)
    }

    @Test func textWithoutTokenizerSaysWhereItLooked() throws {
        try FileManager.default.removeItem(atPath: run.path + "/tokenizer.json")
        let error = #expect(throws: CheckpointError.self) {
            try EvalDataSet(spec: EvalDataSpec(form: .text, file: "eval.txt"), runFolder: run.path, checkpoint: checkpoint)
        }
        #expect(error?.code == "eval.no_tokenizer")
        #expect(error?.detail == "text eval data needs the run's tokenizer.json, in the checkpoint folder or the run folder; neither has one")
    }

    @Test func eosComesFromTokenizerConfigFirst() throws {
        try run.write("tokenizer_config.json", #"{"eos_token": {"content": "A", "special": true}}"#)
        let (ids, set) = try rows(EvalDataSpec(form: .text, file: "eval.jsonl", sequenceLength: 64))
        #expect(set.provenance.eos == 65)
        #expect(ids.joined().filter { $0 == 2 }.isEmpty)
        try run.write("tokenizer_config.json", #"{"eos_token": "<|nope|>"}"#)
        let error = #expect(throws: CheckpointError.self) { try rows(EvalDataSpec(form: .text, file: "eval.jsonl")) }
        #expect(error?.code == "eval.bad_tokenizer_config")
    }
}
