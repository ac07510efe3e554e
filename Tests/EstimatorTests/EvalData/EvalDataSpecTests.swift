import Base
import Testing
@testable import Estimator

@Suite struct EvalDataSpecTests {
    private func manifest(_ text: String) throws -> RunManifest { try RunManifest(text: text, source: "volume.toml") }

    @Test func readsEachEvalDataForm() throws {
        #expect(try manifest("[data]\neval = \"val.safetensors\"").evalData == EvalDataSpec(form: .tensors, file: "val.safetensors"))
        #expect(try manifest("[data]\ntext = \"held-out/eval.txt\"").evalData == EvalDataSpec(form: .text, file: "held-out/eval.txt"))
        let tokens = try manifest("""
            [data]
            tokens = "pile/val_text_document"
            documents = "0:20"
            sequence_length = 256
            sequences = 8
            """)
        #expect(tokens.evalData == EvalDataSpec(form: .tokens, file: "pile/val_text_document", sequenceLength: 256, sequences: 8, documents: 0..<20))
        #expect(tokens.evalData?.packing(eos: 0) == TokenPacking(sequenceLength: 256, sequences: 8, eos: 0))
        #expect(try manifest("[data]\ntext = \"e.txt\"").evalData?.packing(eos: nil) == TokenPacking(sequenceLength: 512, sequences: 20))
    }

    @Test func refusesTwoSourcesOrPackingWithoutOne() {
        let cases: [(String, String)] = [
            ("[data]\neval = \"a.safetensors\"\ntext = \"b.txt\"", "data.text: cannot be given together with 'eval': name one eval data source"),
            ("[data]\ntokens = \"a.npy\"\ntext = \"b.txt\"", "data.text: cannot be given together with 'tokens': name one eval data source"),
            ("[data]\nsequences = 4", "data.sequences: needs 'text' or 'tokens' in [data]"),
            ("[data]\neval = \"a.safetensors\"\nsequence_length = 64",
             "data.sequence_length: applies to 'text' and 'tokens' data, not to a safetensors 'eval' file, which is used as it is"),
            ("[data]\ntext = \"a.txt\"\nsequence_length = 0", "data.sequence_length: must be at least 1, got 0"),
            ("[data]\ntext = \"a.txt\"\ndocuments = \"5:5\"", "data.documents: must be \"FIRST:END\" document indices with 0 ≤ FIRST < END, got \"5:5\""),
            ("[data]\ntext = \"../a.txt\"", "data.text: must be a file name inside the run folder, got \"../a.txt\""),
        ]
        for (text, message) in cases {
            let error = #expect(throws: CheckpointError.self) { try manifest(text) }
            #expect(error?.code == "manifest.bad_value")
            #expect(error?.detail == message)
        }
        let unknown = #expect(throws: CheckpointError.self) { try manifest("[data]\ntexts = \"a.txt\"") }
        #expect(unknown?.detail == "unknown key 'data.texts' (did you mean 'data.text'?)")
    }

    @Test func tellsTheFormOfACommandLineFileByItsName() throws {
        let dir = try TemporaryDirectory()
        #expect(try EvalDataSpec.form(ofFile: dir.path + "/x.safetensors") == .tensors)
        #expect(try EvalDataSpec.form(ofFile: dir.path + "/x.txt") == .text)
        #expect(try EvalDataSpec.form(ofFile: dir.path + "/x.npy") == .tokens)
        let text = try dir.write("text.jsonl", "\n{\"text\": \"hello\"}\n")
        #expect(try EvalDataSpec.form(ofFile: text) == .text)
        let ids = try dir.write("ids.jsonl", "{\"input_ids\": [1, 2]}\n")
        #expect(try EvalDataSpec.form(ofFile: ids) == .tokens)
        try dir.write("pile.bin", [0])
        try dir.write("pile.idx", [0])
        #expect(try EvalDataSpec.form(ofFile: dir.path + "/pile") == .tokens)
        let other = try dir.write("other.jsonl", "{\"label\": 1}\n")
        #expect((#expect(throws: CheckpointError.self) { try EvalDataSpec.form(ofFile: other) })?.code == "eval.unknown_form")
        #expect((#expect(throws: CheckpointError.self) { try EvalDataSpec.form(ofFile: dir.path + "/eval.csv") })?.code == "eval.unknown_form")
    }

    @Test func packsDocumentsWithEOSBetweenAndDropsThePartialRow() throws {
        let packing = TokenPacking(sequenceLength: 3, sequences: 10, eos: 0)
        let rows = try packing.pack(documents: [[1, 2], [3, 4, 5], [6]], source: "d")
        // 1 2 0 | 3 4 5 | 0 6 (dropped)
        #expect(rows.shape == [2, 3])
        #expect(rows.scalars == [1, 2, 0, 3, 4, 5])
        let capped = try TokenPacking(sequenceLength: 2, sequences: 2).pack(stream: Array(1...9), source: "s")
        #expect(capped.scalars == [1, 2, 3, 4])
        let short = #expect(throws: CheckpointError.self) { try TokenPacking(sequenceLength: 8, sequences: 1).pack(stream: [1, 2], source: "s") }
        #expect(short?.code == "eval.too_short")
        #expect(short?.detail == "the data holds 2 tokens, fewer than one row of sequence_length 8")
    }

    /// Packed eval data is identified by every file that decides its rows and by the packing;
    /// a safetensors file by its bytes alone, as before.
    @Test func fingerprintCoversTokenizerAndPacking() throws {
        let dir = try TemporaryDirectory()
        try dir.write("eval.txt", "some held-out text")
        try dir.write("eval.safetensors", "bytes")
        let text = EvalDataSpec(form: .text, file: "eval.txt")
        let first = try EvalDataSet.fingerprint(spec: text, runFolder: dir.path, checkpoint: nil)
        #expect(try EvalDataSet.fingerprint(spec: text, runFolder: dir.path, checkpoint: nil) == first)
        var shorter = text
        shorter.sequenceLength = 128
        #expect(try EvalDataSet.fingerprint(spec: shorter, runFolder: dir.path, checkpoint: nil) != first)
        try dir.write("tokenizer.json", "{}")
        let withTokenizer = try EvalDataSet.fingerprint(spec: text, runFolder: dir.path, checkpoint: nil)
        #expect(withTokenizer != first)
        try dir.write("tokenizer.json", "{ }")
        #expect(try EvalDataSet.fingerprint(spec: text, runFolder: dir.path, checkpoint: nil) != withTokenizer)
        #expect(try EvalDataSet.fingerprint(spec: EvalDataSpec(form: .tensors, file: "eval.safetensors"), runFolder: dir.path, checkpoint: nil)
            == EvalDataFile.fingerprint(ofFile: dir.path + "/eval.safetensors"))
        let missing = #expect(throws: CheckpointError.self) {
            try EvalDataSet.fingerprint(spec: EvalDataSpec(form: .text, file: "gone.txt"), runFolder: dir.path, checkpoint: nil)
        }
        #expect(missing?.code == "eval.missing")
    }
}
