import Base

/// What an estimate's eval data was, for the `estimates.eval_data` column and `--json`: the
/// form and file, the tokenizer, the EOS id and packing, and the rows that resulted. The
/// fingerprint is what the estimate's key holds.
public struct EvalProvenance: Sendable, Equatable {
    public var form: EvalDataSpec.Form
    /// The file as the run or `--data` named it.
    public var file: String
    public var fingerprint: String
    /// The `tokenizer.json` used for text; nil otherwise.
    public var tokenizer: String?
    public var eos: Int32?
    public var sequenceLength: Int?
    public var sequences: Int?
    public var documents: Range<Int>?
    /// The rows measured and their length.
    public var rows: Int
    public var rowLength: Int

    init(spec: EvalDataSpec, sources: EvalSources, fingerprint: String, tokenizer: String?, eos: Int32?, data: EvalData) {
        form = spec.form
        file = spec.file
        self.fingerprint = fingerprint
        self.tokenizer = spec.form == .text ? tokenizer : nil
        self.eos = eos
        if spec.isPacked {
            let packing = spec.packing(eos: eos)
            sequenceLength = packing.sequenceLength
            sequences = packing.sequences
        }
        documents = spec.documents
        switch data {
        case .features(let x): (rows, rowLength) = (x.shape[0], x.shape[1])
        case .tokens(let ids, _): (rows, rowLength) = (ids.shape[0], ids.shape[1])
        }
    }

    /// `{"form", "file", "fingerprint", "rows", "row_length"}`, plus `tokenizer`, `eos`,
    /// `sequence_length`, `sequences` and `documents` for packed data.
    public var json: JSONValue {
        var entries: [(String, JSONValue)] = [
            ("form", .string(form.rawValue)), ("file", .string(file)), ("fingerprint", .string(fingerprint)),
            ("rows", .int(rows)), ("row_length", .int(rowLength)),
        ]
        if form != .tensors {
            if let tokenizer { entries.append(("tokenizer", .string(tokenizer))) }
            entries.append(("eos", eos.map { .int(Int($0)) } ?? .null))
            if let sequenceLength { entries.append(("sequence_length", .int(sequenceLength))) }
            if let sequences { entries.append(("sequences", .int(sequences))) }
            if let documents { entries.append(("documents", .string("\(documents.lowerBound):\(documents.upperBound)"))) }
        }
        return .object(JSONObject(entries))
    }
}
