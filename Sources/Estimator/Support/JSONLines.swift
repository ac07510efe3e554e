/// The records of a `.jsonl` file: one per line, blank lines (spaces, tabs) skipped, a
/// Windows line ending's carriage return dropped. The one line splitter of the text and
/// token-id readers.
enum JSONLines {
    /// Calls `body` with each non-blank line of `bytes` and its line number (from 1).
    static func forEachLine<Bytes: RandomAccessCollection<UInt8>>(
        in bytes: Bytes, _ body: (_ line: Bytes.SubSequence, _ number: Int) throws(CheckpointError) -> Void
    ) throws(CheckpointError) where Bytes.Index == Int {
        var start = bytes.startIndex
        var number = 0
        while start < bytes.endIndex {
            number += 1
            var lineEnd = start
            while lineEnd < bytes.endIndex, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            var end = lineEnd
            if end > start, bytes[end - 1] == 0x0D { end -= 1 }
            let line = bytes[start..<end]
            start = lineEnd + 1
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            try body(line, number)
        }
    }
}
