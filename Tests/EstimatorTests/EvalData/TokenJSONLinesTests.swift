import Testing
@testable import Estimator

@Suite struct TokenJSONLinesTests {
    func read(_ text: String, _ range: Range<Int>? = nil) throws(CheckpointError) -> [[Int32]] {
        try TokenJSONLines.documents(in: MappedFile(path: "t.jsonl", contents: Array(text.utf8)), selecting: range)
    }

    func error(_ bytes: [UInt8]) -> CheckpointError? {
        do { _ = try TokenJSONLines.documents(in: MappedFile(path: "t.jsonl", contents: bytes)); return nil } catch { return error }
    }

    func error(_ text: String) -> CheckpointError? { error(Array(text.utf8)) }

    @Test func eachNonBlankLineIsOneDocument() throws {
        let text = "{\"input_ids\": [1, 2, 3]}\r\n\n  \t\n{\"text\": \"ü\", \"input_ids\": [2147483647]}\n{\"input_ids\":[0]}"
        #expect(try read(text) == [[1, 2, 3], [2147483647], [0]])
        #expect(try read(text, 1..<3) == [[2147483647], [0]])
    }

    @Test func errorsNameTheLine() {
        let lines = "{\"input_ids\": [1]}\n\n"
        let cases: [(String, String, String)] = [
            ("{\"input_ids\": [1, 2]", "tokens.bad_json", "line 3: not valid JSON"),
            ("[1, 2]", "tokens.bad_json", "line 3: not a JSON object"),
            ("{\"ids\": [1, 2], \"text\": \"x\"}", "tokens.no_input_ids", "line 3: no 'input_ids' field; the line has 'ids', 'text'"),
            ("{\"input_ids\": \"1 2\"}", "tokens.bad_input_ids", "line 3: 'input_ids' is not a list"),
            ("{\"input_ids\": [1, 2.5]}", "tokens.bad_input_ids", "line 3: 'input_ids' item 1 is 2.5, not an integer"),
            ("{\"input_ids\": [1, 1e3]}", "tokens.bad_input_ids", "item 1 is 1e3"),
            ("{\"input_ids\": [1, \"2\"]}", "tokens.bad_input_ids", "item 1 is \"2\""),
            ("{\"input_ids\": [[1]]}", "tokens.bad_input_ids", "item 0"),
            ("{\"input_ids\": [1, -1]}", "tokens.bad_id", "line 3: 'input_ids' item 1 is -1, not a token id"),
            ("{\"input_ids\": [2147483648]}", "tokens.bad_id", "item 0 is 2147483648"),
            ("{\"input_ids\": [99999999999999999999999999]}", "tokens.bad_id", "item 0 is 99999999999999999999999999"),
            ("{\"input_ids\": []}", "tokens.empty", "line 3: 'input_ids' is an empty list"),
            ("{\"input_ids\": [1], \"input_ids\": [2]}", "tokens.bad_json", "duplicate key"),
        ]
        for (line, code, detail) in cases {
            let e = error(lines + line + "\n")
            #expect(e?.code == code, "\(line)")
            #expect(e?.detail.contains(detail) == true, "\(line): \(e?.detail ?? "no error")")
            #expect(e?.file == "t.jsonl")
        }
    }

    @Test func invalidUTF8IsRefused() {
        let e = error(Array("{\"input_ids\": [1]}\n{\"text\": \"".utf8) + [0xC3, 0x28] + Array("\", \"input_ids\": [1]}".utf8))
        #expect(e?.code == "tokens.not_utf8")
        #expect(e?.detail == "line 2: not valid UTF-8")
    }

    @Test func emptyFilesHoldNoDocuments() {
        #expect(error("")?.code == "tokens.empty")
        #expect(error("\n  \n\r\n")?.code == "tokens.empty")
    }

    @Test func linesOutsideTheRangeAreNotParsed() throws {
        #expect(try read("{\"input_ids\": [1]}\nnot json\n{\"input_ids\": [3]}\n", 2..<3) == [[3]])
        let e = #expect(throws: CheckpointError.self) { try read("{\"input_ids\": [1]}\n", 0..<2) }
        #expect(e?.code == "tokens.documents_out_of_range")
        #expect(e?.detail == "documents 0:2 are not among the 1 documents the file holds (0:1)")
    }
}
