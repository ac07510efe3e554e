import Base

/// Held-out text as researchers keep it: a text file (one document: the whole file) or a
/// `.jsonl` file with a string `text` field on every line (one document per line).
public enum TextDocuments {
    /// Text files larger than this are refused (eval data is read whole).
    public static let maxFileBytes = 1 << 30
    /// Lines of a `.jsonl` file longer than this are refused.
    public static let maxLineBytes = 64 << 20

    /// The documents of `path`, in file order. `documents` keeps only that range of them
    /// (document indices, for `.jsonl`); an empty result is an error.
    public static func read(_ path: String, documents: Range<Int>? = nil) throws(CheckpointError) -> [String] {
        let bytes = try FileSystem.read(path, limit: maxFileBytes)
        let all: [String]
        if path.lowercased().hasSuffix(".jsonl") {
            all = try jsonLines(bytes, source: path)
        } else {
            all = [try utf8(bytes[...], source: path, offset: 0)]
        }
        var kept = all
        if let documents {
            guard documents.lowerBound >= 0, documents.upperBound <= all.count, !documents.isEmpty else {
                throw CheckpointError("text.documents_out_of_range", file: path,
                                      "documents \(EvalDataSpec.documentsText(documents)) is outside the file's \(all.count) document\(all.count == 1 ? "" : "s")")
            }
            kept = Array(all[documents])
        }
        guard kept.contains(where: { !$0.isEmpty }) else {
            throw CheckpointError("text.empty", file: path, "the file holds no text")
        }
        return kept
    }

    /// One document per non-blank line of a `.jsonl` file's bytes, from its string `text` field.
    public static func jsonLines(_ bytes: [UInt8], source: String) throws(CheckpointError) -> [String] {
        var documents: [String] = []
        try JSONLines.forEachLine(in: bytes) { (line, lineNumber) throws(CheckpointError) in
            guard line.count <= maxLineBytes else {
                throw CheckpointError("text.line_too_long", file: source, "line \(lineNumber): \(line.count) bytes, more than \(maxLineBytes)")
            }
            let value: JSONValue
            do throws(JSONError) {
                value = try JSONValue.parse(line, maxDepth: 64)
            } catch {
                throw CheckpointError("text.jsonl_syntax", file: source, "line \(lineNumber): not JSON (\(error.description))")
            }
            guard let object = value.objectValue else {
                throw CheckpointError("text.jsonl_syntax", file: source, "line \(lineNumber): not a JSON object")
            }
            guard let text = object["text"] else {
                throw CheckpointError("text.jsonl_missing_text", file: source, "line \(lineNumber): no \"text\" field")
            }
            guard let string = text.stringValue else {
                throw CheckpointError("text.jsonl_not_string", file: source, "line \(lineNumber): \"text\" is not a string")
            }
            documents.append(string)
        }
        return documents
    }

    /// `bytes` as UTF-8 text; the error names the byte offset of the first invalid sequence.
    static func utf8(_ bytes: ArraySlice<UInt8>, source: String, offset: Int) throws(CheckpointError) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var position = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                position += UTF8.width(scalar)
            case .emptyInput:
                return String(decoding: bytes, as: UTF8.self)
            case .error:
                throw CheckpointError("text.invalid_utf8", file: source, "invalid UTF-8 at byte \(offset + position)")
            }
        }
    }
}
