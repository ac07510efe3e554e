import Base

/// What an estimate's eval data was, for the `estimates.eval_data` column and `--json`: the
/// form and file, the tokenizer, the EOS id and packing, and the rows that resulted. The
/// fingerprint is what the estimate's key holds.
public struct EvalProvenance: Sendable, Equatable {
    public var form: EvalDataSpec.Form
    /// The file as the run or `--data` named it.
    public var file: String
    public var fingerprint: String
    /// Hex SHA-256 of the data file's bytes (an indexed dataset's `.bin`, then `.idx`).
    public var dataSHA256: [String]
    /// The `tokenizer.json` used for text; nil otherwise.
    public var tokenizer: String?
    public var tokenizerSHA256: String?
    public var eos: Int32?
    public var sequenceLength: Int?
    public var sequences: Int?
    public var documents: Range<Int>?
    /// The rows measured and their length.
    public var rows: Int
    public var rowLength: Int

    init(spec: EvalDataSpec, fingerprint: String, dataHashes: [String], tokenizer: (path: String, sha256: String)?, eos: Int32?, data: EvalData) {
        form = spec.form
        file = spec.file
        self.fingerprint = fingerprint
        dataSHA256 = dataHashes
        if spec.form == .text, let tokenizer {
            self.tokenizer = tokenizer.path
            tokenizerSHA256 = tokenizer.sha256
        }
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
        case .images(let batch): (rows, rowLength) = (batch.count, batch.imageShape.count)
        }
    }

    /// `{"form", "file", "sha256" (a list for an indexed dataset), "fingerprint", "rows",
    /// "row_length"}`, plus `tokenizer` and `tokenizer_sha256` for text, and `eos`,
    /// `sequence_length`, `sequences` and `documents` for packed data.
    public var json: JSONValue {
        let sha: JSONValue = dataSHA256.count == 1 ? .string(dataSHA256[0]) : .array(dataSHA256.map(JSONValue.string))
        var entries: [(String, JSONValue)] = [
            ("form", .string(form.rawValue)), ("file", .string(file)), ("sha256", sha), ("fingerprint", .string(fingerprint)),
            ("rows", .int(rows)), ("row_length", .int(rowLength)),
        ]
        if form != .tensors {
            if let tokenizer, let tokenizerSHA256 {
                entries.append(("tokenizer", .string(tokenizer)))
                entries.append(("tokenizer_sha256", .string(tokenizerSHA256)))
            }
            entries.append(("eos", eos.map { .int(Int($0)) } ?? .null))
            if let sequenceLength { entries.append(("sequence_length", .int(sequenceLength))) }
            if let sequences { entries.append(("sequences", .int(sequences))) }
            if let documents { entries.append(("documents", .string(EvalDataSpec.documentsText(documents)))) }
        }
        return .object(JSONObject(entries))
    }
}
