import Testing
@testable import Estimator

/// An `.idx` as megatron-core writes it: header, sequence lengths, pointers, document indices.
func idxBytes(code: UInt8 = 4, lengths: [Int32], pointers: [Int64], documentIndices: [Int64],
              sequenceCount: UInt64? = nil, documentCount: UInt64? = nil, version: UInt64 = 1) -> [UInt8] {
    var out = Array("MMIDIDX".utf8) + [0, 0]
    out += withUnsafeBytes(of: version.littleEndian, Array.init)
    out.append(code)
    out += withUnsafeBytes(of: (sequenceCount ?? UInt64(lengths.count)).littleEndian, Array.init)
    out += withUnsafeBytes(of: (documentCount ?? UInt64(documentIndices.count)).littleEndian, Array.init)
    out += int32Bytes(lengths)
    out += int64Bytes(pointers)
    out += int64Bytes(documentIndices)
    return out
}

@Suite struct IndexedDatasetTests {
    /// Three int32 sequences [1, 2] [3] [4, 5, 6] making documents [1, 2, 3] and [4, 5, 6].
    static let bin = int32Bytes([1, 2, 3, 4, 5, 6])
    static let idx = idxBytes(lengths: [2, 1, 3], pointers: [0, 8, 12], documentIndices: [0, 2, 3])

    func open(_ idx: [UInt8], _ bin: [UInt8] = bin) throws(CheckpointError) -> IndexedDataset {
        try IndexedDataset(index: MappedFile(path: "t.idx", contents: idx), data: MappedFile(path: "t.bin", contents: bin))
    }

    func error(_ idx: [UInt8], _ bin: [UInt8] = bin) -> CheckpointError? {
        do { _ = try open(idx, bin).documents(); return nil } catch { return error }
    }

    @Test func documentsAreTheirSequencesJoined() throws {
        let dataset = try open(Self.idx)
        #expect(dataset.sequenceCount == 3)
        #expect(dataset.documentCount == 2)
        #expect(try dataset.documents() == [[1, 2, 3], [4, 5, 6]])
        #expect(try dataset.documents(1..<2) == [[4, 5, 6]])
        // A multimodal index appends one mode byte per sequence, which is ignored.
        #expect(try open(Self.idx + [0, 1, 0]).documents() == [[1, 2, 3], [4, 5, 6]])
    }

    @Test func uint16AndOtherIntegerCodesAreRead() throws {
        let bin: [UInt8] = [0xFF, 0xFF, 0x01, 0x00]
        let dataset = try open(idxBytes(code: 8, lengths: [2], pointers: [0], documentIndices: [0, 1]), bin)
        #expect(try dataset.documents() == [[65535, 1]])
        let signed = error(idxBytes(code: 3, lengths: [2], pointers: [0], documentIndices: [0, 1]), bin)
        #expect(signed?.code == "tokens.bad_id")
        #expect(signed?.file == "t.bin")
        #expect(signed?.detail.contains("token id -1 of document 0 (sequence 0, position 0 in the document, byte 0)") == true)
    }

    @Test func truncatedAndForeignHeadersAreRefused() {
        #expect(error(Array(Self.idx.prefix(5)))?.code == "tokens.truncated")
        #expect(error(Array(Self.idx.prefix(20)))?.code == "tokens.truncated")
        #expect(error(Array(Self.idx.dropLast(1)))?.code == "tokens.size_mismatch")
        var magic = Self.idx
        magic[0] = UInt8(ascii: "X")
        #expect(error(magic)?.code == "tokens.bad_magic")
        let legacy = error(Array("TNTIDX".utf8) + [0, 0] + [UInt8](repeating: 0, count: 40))
        #expect(legacy?.code == "tokens.bad_magic")
        #expect(legacy?.detail.contains("legacy") == true)
        #expect(error(idxBytes(lengths: [2, 1, 3], pointers: [0, 8, 12], documentIndices: [0, 2, 3], version: 2))?.code == "tokens.bad_version")
        for code: UInt8 in [0, 6, 7, 9, 255] {
            let e = error(idxBytes(code: code, lengths: [2, 1, 3], pointers: [0, 8, 12], documentIndices: [0, 2, 3]))
            #expect(e?.code == "tokens.bad_dtype")
            #expect(e?.detail.contains("byte 17") == true)
        }
    }

    @Test func lyingCountsAreRefusedBeforeAnyAllocation() {
        let huge = error(idxBytes(lengths: [2, 1, 3], pointers: [0, 8, 12], documentIndices: [0, 2, 3], sequenceCount: UInt64.max))
        #expect(huge?.code == "tokens.size_mismatch")
        #expect(huge?.detail.contains("byte 18") == true)
        let more = error(idxBytes(lengths: [2, 1, 3], pointers: [0, 8, 12], documentIndices: [0, 2, 3], documentCount: 4))
        #expect(more?.code == "tokens.size_mismatch")
        #expect(more?.detail.contains("need 102 bytes") == true)
        let none = error(idxBytes(lengths: [], pointers: [], documentIndices: []))
        #expect(none?.code == "tokens.bad_index")
        #expect(error(idxBytes(lengths: [], pointers: [], documentIndices: [0]))?.code == "tokens.empty")
    }

    @Test func lengthsPointersAndDocumentIndicesAreCheckedAgainstTheFiles() {
        let negative = error(idxBytes(lengths: [2, -1, 3], pointers: [0, 8, 12], documentIndices: [0, 2, 3]))
        #expect(negative?.code == "tokens.bad_index")
        #expect(negative?.detail == "sequence 1's length -1 (byte 38) is negative")

        let past = error(idxBytes(lengths: [2, 1, 4], pointers: [0, 8, 12], documentIndices: [0, 2, 3]))
        #expect(past?.code == "tokens.bad_index")
        #expect(past?.detail == "sequence 2's pointer 12 (byte 62) and length 4 (byte 42) reach outside the 24-byte t.bin")
        #expect(error(idxBytes(lengths: [2, 1, 3], pointers: [0, -8, 12], documentIndices: [0, 2, 3]))?.code == "tokens.bad_index")
        #expect(error(idxBytes(lengths: [2, 1, 3], pointers: [0, Int64.max, 12], documentIndices: [0, 2, 3]))?.code == "tokens.bad_index")
        #expect(error(idxBytes(lengths: [2, 1, Int32.max], pointers: [0, 8, 12], documentIndices: [0, 2, 3]))?.code == "tokens.bad_index")
        #expect(error(Self.idx, Array(Self.bin.dropLast(1)))?.code == "tokens.bad_index")

        let falling = error(idxBytes(lengths: [2, 1, 3], pointers: [0, 8, 12], documentIndices: [0, 2, 1]))
        #expect(falling?.code == "tokens.bad_index")
        #expect(falling?.detail.contains("document index 2 is 1 (byte 86)") == true)
        #expect(error(idxBytes(lengths: [2, 1, 3], pointers: [0, 8, 12], documentIndices: [0, 2, 4]))?.code == "tokens.bad_index")
        #expect(error(idxBytes(lengths: [2, 1, 3], pointers: [0, 8, 12], documentIndices: [-1, 2, 3]))?.code == "tokens.bad_index")
    }

    @Test func rangesAreCheckedAgainstTheDocumentCount() throws {
        let dataset = try open(Self.idx)
        let e = #expect(throws: CheckpointError.self) { try dataset.documents(1..<3) }
        #expect(e?.code == "tokens.documents_out_of_range")
        #expect(e?.detail == "documents 1:3 are not among the 2 documents the file holds (0:2)")
        #expect(throws: CheckpointError.self) { try dataset.documents(-1..<1) }
    }
}
