/// A GPT-NeoX/Megatron indexed dataset (the "mmap" format the Pile ships in): token ids in
/// `prefix.bin`, described by `prefix.idx`. Every count, length and pointer in the index is
/// checked against both files' sizes when opened.
///
/// The `.idx` layout, as megatron-core's `IndexedDatasetBuilder` (and GPT-NeoX's
/// `MMapIndexedDatasetBuilder`) write it, all little-endian:
///
///     byte 0   magic "MMIDIDX\0\0"
///     byte 9   version, UInt64 = 1
///     byte 17  dtype code, UInt8 (1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 8 uint16)
///     byte 18  sequence count S, UInt64
///     byte 26  document count D, UInt64 (documents + 1: the indices start with 0)
///     byte 34  S sequence lengths, Int32 (ids per sequence)
///              S sequence pointers, Int64 (byte offset of each sequence in the .bin)
///              D document indices, Int64 (document d is sequences [idx[d], idx[d+1]))
///              S sequence modes, Int8 (only in multimodal datasets; ignored)
///
/// A document is its sequences' ids concatenated.
public struct IndexedDataset: Sendable {
    static let magic: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
    /// The older, non-mmap format's magic (fairseq / Megatron `--dataset-impl lazy|cached`).
    static let legacyMagic: [UInt8] = Array("TNTIDX".utf8) + [0, 0]
    static let headerSize = 34

    public let indexPath: String
    public let dataPath: String
    public let sequenceCount: Int
    /// Documents in the dataset: the document count field less the leading 0.
    public let documentCount: Int
    let dtype: TokenIDType
    private let index: MappedFile
    private let data: MappedFile

    /// Opens `prefix.idx` and `prefix.bin`.
    public init(prefix: String) throws(CheckpointError) {
        let index: MappedFile, data: MappedFile
        do {
            index = try MappedFile(path: prefix + ".idx")
            data = try MappedFile(path: prefix + ".bin")
        } catch {
            throw CheckpointError(error)
        }
        try self.init(index: index, data: data)
    }

    /// Validates the index in `index` against the ids in `data`; errors name their paths.
    public init(index: MappedFile, data: MappedFile) throws(CheckpointError) {
        let path = index.path
        let idx = index.bytes
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("tokens.\(code)", file: path, detail)
        }

        guard idx.count >= 9, idx.prefix(9).elementsEqual(Self.magic) else {
            if idx.count >= 8, idx.prefix(8).elementsEqual(Self.legacyMagic) {
                throw fail("bad_magic", "a legacy (non-mmap) indexed dataset, magic TNTIDX; write it again with the mmap format (Megatron's default, --dataset-impl mmap)")
            }
            throw fail(idx.count < 9 ? "truncated" : "bad_magic",
                       "file does not start with the indexed dataset magic MMIDIDX\\x00\\x00 (\(idx.count) bytes)")
        }
        guard idx.count >= Self.headerSize else {
            throw fail("truncated", "file is \(idx.count) bytes, too short for the \(Self.headerSize)-byte header (magic, version, dtype code, sequence and document counts)")
        }
        func uint64(at offset: Int) -> UInt64 {
            UInt64(littleEndian: idx.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        let version = uint64(at: 9)
        guard version == 1 else { throw fail("bad_version", "version \(version) at byte 9 is not 1") }
        let code = idx[17]
        guard let dtype = Self.dtype(code: code) else {
            let name = code == 6 || code == 7 ? "a floating-point dtype" : "not a known dtype"
            throw fail("bad_dtype", "dtype code \(code) at byte 17 is \(name); token ids must be an integer dtype (codes 1-5, 8)")
        }
        // Each count is at most the file's size, so the sums below cannot overflow.
        let s = uint64(at: 18), d = uint64(at: 26)
        guard s <= UInt64(idx.count), d <= UInt64(idx.count) else {
            throw fail("size_mismatch", "sequence count \(s) (byte 18) and document count \(d) (byte 26) need more than the \(idx.count) bytes the file has")
        }
        let sequences = Int(s), documentIndices = Int(d)
        let expected = Self.headerSize + 12 * sequences + 8 * documentIndices
        // Multimodal datasets append one mode byte per sequence.
        guard idx.count == expected || idx.count == expected + sequences else {
            throw fail("size_mismatch", "sequence count \(s) (byte 18) and document count \(d) (byte 26) need \(expected) bytes (34 + 12·S + 8·D), but the file has \(idx.count) (truncated?)")
        }
        guard documentIndices >= 1 else {
            throw fail("bad_index", "document count 0 at byte 26: the document indices always start with 0")
        }

        let lengthsAt = Self.headerSize, pointersAt = lengthsAt + 4 * sequences, documentsAt = pointersAt + 8 * sequences
        let binSize = data.bytes.count
        for i in 0..<sequences {
            let length = Int(Int32(littleEndian: idx.loadUnaligned(fromByteOffset: lengthsAt + 4 * i, as: Int32.self)))
            guard length >= 0 else {
                throw fail("bad_index", "sequence \(i)'s length \(length) (byte \(lengthsAt + 4 * i)) is negative")
            }
            let pointer = Int(Int64(littleEndian: idx.loadUnaligned(fromByteOffset: pointersAt + 8 * i, as: Int64.self)))
            // length · width is at most 2^31 · 8, so only the pointer can overflow the sum.
            guard pointer >= 0, pointer <= binSize, length * dtype.byteWidth <= binSize - pointer else {
                throw fail("bad_index", "sequence \(i)'s pointer \(pointer) (byte \(pointersAt + 8 * i)) and length \(length) (byte \(lengthsAt + 4 * i)) reach outside the \(binSize)-byte \(data.path)")
            }
        }
        var previous: Int64 = 0
        for j in 0..<documentIndices {
            let value = Int64(littleEndian: idx.loadUnaligned(fromByteOffset: documentsAt + 8 * j, as: Int64.self))
            guard value >= previous, value <= Int64(sequences) else {
                throw fail("bad_index", "document index \(j) is \(value) (byte \(documentsAt + 8 * j)); document indices must rise from 0 to at most the sequence count \(sequences)")
            }
            previous = value
        }

        self.indexPath = path
        self.dataPath = data.path
        self.sequenceCount = sequences
        self.documentCount = documentIndices - 1
        self.dtype = dtype
        self.index = index
        self.data = data
    }

    /// Megatron's dtype codes (megatron-core `DType`; GPT-NeoX uses the same integer codes).
    static func dtype(code: UInt8) -> TokenIDType? {
        switch code {
        case 1: TokenIDType(byteWidth: 1, isSigned: false, isBigEndian: false)
        case 2: TokenIDType(byteWidth: 1, isSigned: true, isBigEndian: false)
        case 3: TokenIDType(byteWidth: 2, isSigned: true, isBigEndian: false)
        case 4: TokenIDType(byteWidth: 4, isSigned: true, isBigEndian: false)
        case 5: TokenIDType(byteWidth: 8, isSigned: true, isBigEndian: false)
        case 8: TokenIDType(byteWidth: 2, isSigned: false, isBigEndian: false)
        default: nil
        }
    }

    /// The ids of the documents in `range` (all when nil), each its sequences concatenated.
    /// With a `tokenLimit`, the documents stop at the first that brings the ids to the limit
    /// (packing needs no more), so a Pile-sized dataset is read only as far as needed.
    public func documents(_ range: Range<Int>? = nil, tokenLimit: Int? = nil) throws(CheckpointError) -> [[Int32]] {
        var selected = try TokenFile.select(range, of: documentCount, in: indexPath)
        let idx = index.bytes
        let lengthsAt = Self.headerSize, pointersAt = lengthsAt + 4 * sequenceCount, documentsAt = pointersAt + 8 * sequenceCount
        func documentIndex(_ j: Int) -> Int {
            Int(Int64(littleEndian: idx.loadUnaligned(fromByteOffset: documentsAt + 8 * j, as: Int64.self)))
        }
        func length(_ s: Int) -> Int { Int(Int32(littleEndian: idx.loadUnaligned(fromByteOffset: lengthsAt + 4 * s, as: Int32.self))) }
        var total = 0
        for document in selected {
            for s in documentIndex(document)..<documentIndex(document + 1) { total += length(s) }
            if let tokenLimit, total >= tokenLimit {
                selected = selected.lowerBound..<(document + 1)
                break
            }
        }
        guard total <= TokenFile.maxTokens else {
            throw TokenFile.tooLarge(indexPath, total, "pick fewer with [data] documents")
        }

        var documents: [[Int32]] = []
        documents.reserveCapacity(selected.count)
        for document in selected {
            var ids: [Int32] = []
            for s in documentIndex(document)..<documentIndex(document + 1) {
                let length = Int(Int32(littleEndian: idx.loadUnaligned(fromByteOffset: lengthsAt + 4 * s, as: Int32.self)))
                let pointer = Int(Int64(littleEndian: idx.loadUnaligned(fromByteOffset: pointersAt + 8 * s, as: Int64.self)))
                let bytes = UnsafeRawBufferPointer(rebasing: data.bytes[pointer..<(pointer + length * dtype.byteWidth)])
                let before = ids.count
                do {
                    try dtype.decode(bytes, count: length, into: &ids)
                } catch {
                    throw CheckpointError("tokens.bad_id", file: dataPath,
                                          "token id \(error.value) of document \(document) (sequence \(s), position \(before + error.index) in the document, byte \(pointer + error.index * dtype.byteWidth)) is not in 0...\(Int32.max)")
                }
            }
            documents.append(ids)
        }
        return documents
    }
}
