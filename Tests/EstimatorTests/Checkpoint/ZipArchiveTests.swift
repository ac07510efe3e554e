import Testing
@testable import Estimator

@Suite struct ZipArchiveTests {
    @Test func crc32MatchesTheCheckValue() {
        let check = Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) }
        #expect(check == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { CRC32.checksum($0) } == 0)
        // Long enough to exercise the eight-byte loop and the tail.
        let text = Array("The quick brown fox jumps over the lazy dog".utf8)
        #expect(text.withUnsafeBytes { CRC32.checksum($0) } == 0x414F_A339)
    }

    @Test func readsTorchArchiveEntries() throws {
        let archive = try ZipArchive(path: Fixtures.path("digits-legacy/checkpoint-100/pytorch_model.bin"))
        let names = archive.entries.map(\.name)
        #expect(names.prefix(5) == ["pytorch_model/data.pkl", "pytorch_model/.format_version", "pytorch_model/.storage_alignment", "pytorch_model/byteorder", "pytorch_model/data/0"])
        #expect(archive.entry(named: "pytorch_model/data/0")?.size == 16384)
        #expect(Array(try archive.contents(of: "pytorch_model/byteorder")) == Array("little".utf8))
        let pickle = try archive.contents(of: "pytorch_model/data.pkl")
        #expect(pickle.count == 475)
        #expect(pickle.prefix(2).elementsEqual([0x80, 0x02]))
        let error = #expect(throws: CheckpointError.self) { try archive.contents(of: "pytorch_model/data/9") }
        #expect(error?.code == "zip.missing_entry")
    }

    @Test func readsHandBuiltArchive() throws {
        var zip = ZipBuilder()
        zip.add("a/one", [1, 2, 3])
        zip.add("a/two", [])
        let dir = try TemporaryDirectory()
        let archive = try ZipArchive(path: try dir.write("ok.zip", zip.bytes()))
        #expect(archive.entries.map(\.name) == ["a/one", "a/two"])
        #expect(Array(try archive.contents(of: "a/one")) == [1, 2, 3])
        #expect(try archive.contents(of: "a/two").isEmpty)
    }

    @Test func readsZip64Records() throws {
        var zip = ZipBuilder()
        zip.zip64 = true
        zip.add("a/one", [1, 2, 3])
        zip.add("a/two", [4, 5])
        let dir = try TemporaryDirectory()
        let archive = try ZipArchive(path: try dir.write("zip64.zip", zip.bytes()))
        #expect(archive.entries.map(\.name) == ["a/one", "a/two"])
        #expect(archive.entries.map(\.size) == [3, 2])
        #expect(Array(try archive.contents(of: "a/two")) == [4, 5])
    }

    @Test func rejectsShortZip64ExtraField() throws {
        var zip = ZipBuilder()
        zip.zip64 = true
        zip.add("a/one", [1, 2, 3])
        var bytes = zip.bytes()
        // The extra field's declared length (after the 46-byte record and the 5-byte name) shrinks to 8.
        let directory = 30 + 5 + 3
        bytes.replaceSubrange((directory + 46 + 5 + 2)..<(directory + 46 + 5 + 4), with: le16(8))
        let dir = try TemporaryDirectory()
        let error = #expect(throws: CheckpointError.self) { try ZipArchive(path: try dir.write("short64.zip", bytes)) }
        #expect(error?.code == "zip.bad_directory")
    }

    @Test func refusesCompressedEntryWhenRead() throws {
        var zip = ZipBuilder()
        zip.add("a/data.pkl", [1, 2, 3], method: 8)
        let dir = try TemporaryDirectory()
        let archive = try ZipArchive(path: try dir.write("deflated.zip", zip.bytes()))
        let error = #expect(throws: CheckpointError.self) { try archive.contents(of: "a/data.pkl") }
        #expect(error?.code == "zip.compressed_entry")
        #expect(error?.detail == "entry 'a/data.pkl' is compressed (method 8); only stored entries are supported")
    }

    @Test func detectsBadCRC() throws {
        var zip = ZipBuilder()
        zip.add("a/x", [1, 2, 3], crc: 0xDEAD_BEEF)
        let dir = try TemporaryDirectory()
        let archive = try ZipArchive(path: try dir.write("crc.zip", zip.bytes()))
        let error = #expect(throws: CheckpointError.self) { try archive.contents(of: "a/x") }
        #expect(error?.code == "zip.bad_crc")
        #expect(error?.detail == "entry 'a/x' has CRC-32 0x55bc801d but the directory records 0xdeadbeef (corrupt file)")
    }

    @Test func everyTruncationOfARealArchiveIsAnError() throws {
        let original = try readBytes(Fixtures.path("digits/checkpoint-0/optimizer.pt"))
        let dir = try TemporaryDirectory()
        for length in 0..<original.count {
            let path = try dir.write("cut.pt", Array(original[0..<length]))
            let error = #expect(throws: CheckpointError.self) { try ZipArchive(path: path) }
            #expect(error?.code.hasPrefix("zip.") == true, "length \(length)")
        }
    }

    @Test func rejectsTruncatedCentralDirectory() throws {
        var zip = ZipBuilder()
        zip.add("a/x", [1, 2, 3])
        var bytes = zip.bytes()
        // Claim a directory longer than what lies before the end record.
        let eocd = bytes.count - 22
        bytes.replaceSubrange((eocd + 12)..<(eocd + 16), with: le32(60))
        let dir = try TemporaryDirectory()
        let error = #expect(throws: CheckpointError.self) { try ZipArchive(path: try dir.write("short.zip", bytes)) }
        #expect(error?.code == "zip.bad_directory")
    }

    @Test func rejectsEntryDataPastTheDirectory() throws {
        var zip = ZipBuilder()
        zip.add("a/x", [1, 2, 3])
        var bytes = zip.bytes()
        // Central record sizes (at directory offset 20 and 24) claim 1000 bytes.
        let directory = 30 + 3 + 3
        bytes.replaceSubrange((directory + 20)..<(directory + 28), with: le32(1000) + le32(1000))
        let dir = try TemporaryDirectory()
        let error = #expect(throws: CheckpointError.self) { try ZipArchive(path: try dir.write("long.zip", bytes)) }
        #expect(error?.code == "zip.bad_offset")
    }

    @Test func rejectsEscapingAndDuplicateNames() throws {
        let dir = try TemporaryDirectory()
        for name in ["../evil", "/abs/olute", "a/../../b"] {
            var zip = ZipBuilder()
            zip.add(name, [0])
            let error = #expect(throws: CheckpointError.self) { try ZipArchive(path: try dir.write("names.zip", zip.bytes())) }
            #expect(error?.code == "zip.bad_name", "\(name)")
        }
        var zip = ZipBuilder()
        zip.add("a/x", [0])
        zip.add("a/x", [1])
        let error = #expect(throws: CheckpointError.self) { try ZipArchive(path: try dir.write("dup.zip", zip.bytes())) }
        #expect(error?.code == "zip.duplicate_entry")
    }

    @Test func rejectsNonArchives() throws {
        let dir = try TemporaryDirectory()
        let error = #expect(throws: CheckpointError.self) {
            try ZipArchive(path: try dir.write("text.pt", Array(String(repeating: "not a zip ", count: 10).utf8)))
        }
        #expect(error?.code == "zip.no_directory")
    }
}
