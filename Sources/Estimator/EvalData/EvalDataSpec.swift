import Base

/// Where a run's eval data comes from, as `volume.toml` `[data]` (or `--data`) names it: a
/// safetensors file of tensors (`eval`), text tokenized with the checkpoint's tokenizer
/// (`text`), or token ids (`tokens`), with how documents are packed into rows.
public struct EvalDataSpec: Sendable, Equatable {
    public enum Form: String, Sendable, CaseIterable {
        /// A safetensors file with `input_ids` (and `attention_mask`) or `inputs`, used as it is.
        case tensors
        /// A text file (one document) or `.jsonl` with a `text` field (one document per line).
        case text
        /// A `TokenFile`: `.npy`, `.jsonl` with `input_ids`, or an indexed dataset's prefix.
        case tokens

        /// The `[data]` key that names data of this form.
        public var manifestKey: String { self == .tensors ? "eval" : rawValue }
    }

    public var form: Form
    /// Relative to the run folder (from `volume.toml`) or absolute (from `--data`).
    public var file: String
    /// `[data] sequence_length`; nil for `TokenPacking.defaultSequenceLength`.
    public var sequenceLength: Int?
    /// `[data] sequences`; nil for `TokenPacking.defaultSequences`.
    public var sequences: Int?
    /// `[data] documents = "a:b"`: the documents kept, before packing.
    public var documents: Range<Int>?

    public init(form: Form, file: String, sequenceLength: Int? = nil, sequences: Int? = nil, documents: Range<Int>? = nil) {
        self.form = form
        self.file = file
        self.sequenceLength = sequenceLength
        self.sequences = sequences
        self.documents = documents
    }

    /// The file for a checkpoint of the run in `runFolder`.
    public func path(runFolder: String) -> String {
        file.hasPrefix("/") ? file : runFolder + "/" + file
    }

    /// The files the data is made of (an indexed dataset's `.bin` and `.idx`); nil when a
    /// `tokens` path names no token file form.
    public func files(runFolder: String) -> [String]? {
        let path = path(runFolder: runFolder)
        return form == .tokens ? TokenFile.files(path) : [path]
    }

    /// Whether the data is tokenized or packed by volumed (and so depends on the tokenizer,
    /// the EOS token and the packing settings).
    public var isPacked: Bool { form != .tensors }

    /// The packing settings, with `eos` from the checkpoint.
    public func packing(eos: Int32?) -> TokenPacking {
        TokenPacking(sequenceLength: sequenceLength ?? TokenPacking.defaultSequenceLength,
                     sequences: sequences ?? TokenPacking.defaultSequences, eos: eos)
    }

    /// `range` as `[data] documents` spells it: `a:b`.
    public static func documentsText(_ range: Range<Int>) -> String { "\(range.lowerBound):\(range.upperBound)" }

    /// `a:b` as written in `[data] documents`.
    public static func documentRange(_ text: String) -> Range<Int>? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]), low >= 0, high > low else { return nil }
        return low..<high
    }

    /// The form of a file named on the command line (`--data FILE`), judged by its name and,
    /// for `.jsonl`, by the first line's fields: `.safetensors` holds tensors; `.txt`, `.text`
    /// and `.md` are text; `.npy`, `.bin`, `.idx` and a path whose `.bin` and `.idx` exist are
    /// token files; a `.jsonl` is text when its first record has `text`, tokens when it has
    /// `input_ids`.
    public static func form(ofFile path: String) throws(CheckpointError) -> Form {
        let name = FileSystem.split(path).name
        func ends(_ suffixes: String...) -> Bool { suffixes.contains { name.hasSuffix($0) } }
        if ends(".safetensors") { return .tensors }
        if ends(".txt", ".text", ".md") { return .text }
        if ends(".npy", ".bin", ".idx") { return .tokens }
        if ends(".jsonl") {
            let head = try FileSystem.readPrefix(path, count: 1 << 16)
            var line: ArraySlice<UInt8>?
            try JSONLines.forEachLine(in: head) { (next, _) throws(CheckpointError) in if line == nil { line = next } }
            if let line, let value = try? JSONValue.parse(line) {
                if value["text"] != nil { return .text }
                if value["input_ids"] != nil { return .tokens }
            }
            throw CheckpointError("eval.unknown_form", file: path, "the first record of the .jsonl file has neither a 'text' field (text) nor an 'input_ids' field (token ids)")
        }
        if FileSystem.kind(path + ".bin") == .regular, FileSystem.kind(path + ".idx") == .regular { return .tokens }
        throw CheckpointError("eval.unknown_form", file: path, "cannot tell the eval data's form from its name: use .safetensors (tensors), .txt or .jsonl (text), .npy, .jsonl or an indexed dataset's .bin/.idx prefix (token ids)")
    }
}
