/// How a token file stores each id: an integer of 1, 2, 4 or 8 bytes, signed or not, in either
/// byte order (`.npy` dtypes such as `<i4`, `>u2`; the indexed datasets' dtype codes).
struct TokenIDType: Sendable, Equatable, CustomStringConvertible {
    var byteWidth: Int
    var isSigned: Bool
    var isBigEndian: Bool

    /// numpy's spelling: `<i4`, `>u2`, `|u1`.
    var description: String {
        "\(byteWidth == 1 ? "|" : isBigEndian ? ">" : "<")\(isSigned ? "i" : "u")\(byteWidth)"
    }

    /// The first id that is not a valid token id, as `decode` reports it.
    struct BadID: Error {
        /// Its index among the decoded ids.
        var index: Int
        /// Its value as the file stores it.
        var value: String
    }

    /// Appends `count` ids read from `bytes` (which holds at least `count * byteWidth` bytes)
    /// to `ids`, stopping at the first one outside `0...Int32.max`.
    func decode(_ bytes: UnsafeRawBufferPointer, count: Int, into ids: inout [Int32]) throws(BadID) {
        precondition(bytes.count >= count * byteWidth)
        switch (byteWidth, isSigned) {
        case (1, true): try Self.decode(bytes, count, Int8.self, isBigEndian, &ids)
        case (1, false): try Self.decode(bytes, count, UInt8.self, isBigEndian, &ids)
        case (2, true): try Self.decode(bytes, count, Int16.self, isBigEndian, &ids)
        case (2, false): try Self.decode(bytes, count, UInt16.self, isBigEndian, &ids)
        case (4, true): try Self.decode(bytes, count, Int32.self, isBigEndian, &ids)
        case (4, false): try Self.decode(bytes, count, UInt32.self, isBigEndian, &ids)
        case (8, true): try Self.decode(bytes, count, Int64.self, isBigEndian, &ids)
        default: try Self.decode(bytes, count, UInt64.self, isBigEndian, &ids)
        }
    }

    private static func decode<T: FixedWidthInteger>(
        _ bytes: UnsafeRawBufferPointer, _ count: Int, _: T.Type, _ bigEndian: Bool, _ ids: inout [Int32]
    ) throws(BadID) {
        let start = ids.count
        ids.reserveCapacity(start + count)
        for i in 0..<count {
            let raw = bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
            let value = bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
            guard let id = Int32(exactly: value), id >= 0 else {
                ids.removeSubrange(start...)
                throw BadID(index: i, value: String(value))
            }
            ids.append(id)
        }
    }
}

extension TokenFile {
    /// At most this many ids are read from one file (1 GiB as `Int32`): more is far beyond any
    /// eval set, so a larger file is an error rather than an allocation that could exhaust memory.
    public static let maxTokens = 1 << 28

    static func tooLarge(_ path: String, _ count: Int, _ hint: String) -> CheckpointError {
        CheckpointError("tokens.too_large", file: path,
                        "holds \(count) token ids, more than the \(maxTokens) read from one file; \(hint)")
    }

    /// The selected range of `count` documents (all of them when `range` is nil).
    static func select(_ range: Range<Int>?, of count: Int, in path: String) throws(CheckpointError) -> Range<Int> {
        guard count > 0 else { throw CheckpointError("tokens.empty", file: path, "holds no documents") }
        guard let range else { return 0..<count }
        guard range.lowerBound >= 0, range.upperBound <= count else {
            throw CheckpointError("tokens.documents_out_of_range", file: path,
                                  "documents \(EvalDataSpec.documentsText(range)) are not among the \(count) documents the file holds (0:\(count))")
        }
        guard !range.isEmpty else {
            throw CheckpointError("tokens.empty", file: path, "documents \(EvalDataSpec.documentsText(range)) select no document")
        }
        return range
    }
}
