import Base

/// A `.jsonl` file of token ids: each non-blank line is one document, a JSON object whose
/// `input_ids` is a non-empty list of integers in `0...Int32.max` (other fields are ignored).
public enum TokenJSONLines {
    /// The documents in `file`, or only those in `range` (counting non-blank lines from 0).
    /// Lines outside `range` are counted but not parsed. Errors name the line (from 1).
    public static func documents(in file: MappedFile, selecting range: Range<Int>? = nil) throws(CheckpointError) -> [[Int32]] {
        let path = file.path
        let bytes = file.bytes
        var documents: [[Int32]] = []
        var tokens = 0
        var index = 0
        try JSONLines.forEachLine(in: bytes) { (line, lineNumber) throws(CheckpointError) in
            defer { index += 1 }
            if let range, !range.contains(index) { return }
            let ids = try document(UnsafeRawBufferPointer(rebasing: line), line: lineNumber, path: path)
            tokens += ids.count
            guard tokens <= TokenFile.maxTokens else {
                throw TokenFile.tooLarge(path, tokens, "pick fewer with [data] documents")
            }
            documents.append(ids)
        }
        let selected = try TokenFile.select(range, of: index, in: path)
        precondition(documents.count == selected.count)
        return documents
    }

    private static func document(_ line: UnsafeRawBufferPointer, line number: Int, path: String) throws(CheckpointError) -> [Int32] {
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("tokens.\(code)", file: path, "line \(number): \(detail)")
        }
        // The JSON parser would only catch bad UTF-8 inside strings; a line of any other bytes
        // gets the clearer message.
        if line.contains(where: { $0 >= 0x80 }), String(validating: line, as: UTF8.self) == nil {
            throw fail("not_utf8", "not valid UTF-8")
        }
        let value: JSONValue
        do { value = try JSONValue.parse(line) } catch {
            throw fail("bad_json", "not valid JSON: \(error.reason) at column \(error.offset + 1)")
        }
        guard case .object(let object) = value else { throw fail("bad_json", "not a JSON object") }
        guard let field = object["input_ids"] else {
            throw fail("no_input_ids", "no 'input_ids' field; the line has \(object.keys.map { "'\($0)'" }.joined(separator: ", "))")
        }
        guard case .array(let items) = field else { throw fail("bad_input_ids", "'input_ids' is not a list") }
        guard !items.isEmpty else { throw fail("empty", "'input_ids' is an empty list") }
        var ids: [Int32] = []
        ids.reserveCapacity(items.count)
        for (position, item) in items.enumerated() {
            guard case .number(let text) = item, text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                throw fail("bad_input_ids", "'input_ids' item \(position) is \(item.serialized().prefix(40)), not an integer")
            }
            guard let id = Int32(text), id >= 0 else {
                throw fail("bad_id", "'input_ids' item \(position) is \(text.prefix(40)), not a token id in 0...\(Int32.max)")
            }
            ids.append(id)
        }
        return ids
    }
}
