/// A read-only ZIP archive as `torch.save` writes it: uncompressed ("stored") entries, ZIP64
/// records, data descriptors. Entries are zero-copy views into the memory map, CRC-checked
/// when read. Every offset and size is checked against the file before it is used.
public final class ZipArchive: MappedBytes, @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        /// Uncompressed size in bytes.
        public let size: Int
        let compressedSize: Int
        let method: UInt16
        let crc32: UInt32
        let localHeaderOffset: Int
    }

    public let path: String
    /// Entries in central-directory order.
    public let entries: [Entry]
    private let byName: [String: Int]
    /// Keeps entry views alive; tensors built on them take it as their owner.
    let file: MappedFile

    var mappedFile: MappedFile { file }

    /// A central directory larger than this is refused before it is parsed.
    static let maxEntries = 1_000_000

    public convenience init(path: String) throws(CheckpointError) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw CheckpointError(error) }
        try self.init(file: file)
    }

    public init(file: MappedFile) throws(CheckpointError) {
        self.path = file.path
        self.file = file
        let reader = Reader(bytes: file.bytes, path: file.path)
        let directory = try reader.centralDirectory()
        var entries: [Entry] = []
        var byName: [String: Int] = [:]
        var position = directory.offset
        let end = directory.offset + directory.size
        for index in 0..<directory.count {
            let entry = try reader.centralEntry(at: &position, end: end, index: index)
            guard byName[entry.name] == nil else {
                throw reader.fail("duplicate_entry", "entry '\(entry.name)' appears twice")
            }
            byName[entry.name] = entries.count
            entries.append(entry)
        }
        // Entry data must lie before the central directory (which itself ends before the EOCD).
        for entry in entries {
            _ = try reader.dataRange(of: entry, limit: directory.offset)
        }
        self.entries = entries
        self.byName = byName
    }

    public func entry(named name: String) -> Entry? {
        byName[name].map { entries[$0] }
    }

    /// The bytes of entry `name`, valid while this archive lives; `zip.missing_entry`,
    /// `zip.compressed_entry` or `zip.bad_crc` when they cannot be used as they are.
    public func contents(of name: String) throws(CheckpointError) -> UnsafeRawBufferPointer {
        let reader = Reader(bytes: file.bytes, path: path)
        guard let entry = entry(named: name) else {
            throw reader.fail("missing_entry", "no entry named '\(name)'")
        }
        guard entry.method == 0 else {
            throw reader.fail("compressed_entry", "entry '\(name)' is compressed (method \(entry.method)); only stored entries are supported")
        }
        let range = try reader.dataRange(of: entry, limit: file.bytes.count)
        let view = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        let crc = CRC32.checksum(view)
        guard crc == entry.crc32 else {
            throw reader.fail("bad_crc", "entry '\(name)' has CRC-32 \(hex(crc)) but the directory records \(hex(entry.crc32)) (corrupt file)")
        }
        // The check read every page; those that are used are read again when they are.
        file.release(view)
        return view
    }
}

private func hex(_ v: UInt32) -> String {
    let digits = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

/// Bounds-checked little-endian field access over the mapped archive.
private struct Reader {
    let bytes: UnsafeRawBufferPointer
    let path: String

    func fail(_ code: String, _ detail: String) -> CheckpointError {
        CheckpointError("zip.\(code)", file: path, detail)
    }

    func has(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= bytes.count && length <= bytes.count - offset
    }

    func u16(_ offset: Int) -> UInt16 { UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    func u32(_ offset: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    func u64(_ offset: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }

    /// A 64-bit size or offset that must lie within the file.
    func fileOffset(_ v: UInt64, _ what: String) throws(CheckpointError) -> Int {
        guard v <= UInt64(bytes.count) else {
            throw fail("bad_offset", "\(what) \(v) is beyond the end of the \(bytes.count)-byte file (truncated?)")
        }
        return Int(v)
    }

    struct Directory { let offset: Int; let size: Int; let count: Int }

    func centralDirectory() throws(CheckpointError) -> Directory {
        // The end-of-central-directory record is 22 bytes plus a comment of at most 65,535.
        guard bytes.count >= 22 else {
            throw fail("truncated", "file is \(bytes.count) bytes, too short for a ZIP archive")
        }
        var eocd = -1
        var candidate = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        while candidate >= lowest {
            if u32(candidate) == 0x0605_4B50, candidate + 22 + Int(u16(candidate + 20)) == bytes.count {
                eocd = candidate
                break
            }
            candidate -= 1
        }
        guard eocd >= 0 else {
            throw fail("no_directory", "no end-of-central-directory record (not a ZIP archive, or truncated)")
        }
        guard u16(eocd + 4) == 0, u16(eocd + 6) == 0 else {
            throw fail("multi_disk", "multi-disk archives are not supported")
        }
        var count = UInt64(u16(eocd + 10))
        var size = UInt64(u32(eocd + 12))
        var offset = UInt64(u32(eocd + 16))
        var directoryEnd = eocd

        // ZIP64: a locator just before the EOCD points at the ZIP64 end record.
        let locator = eocd - 20
        if locator >= 0, u32(locator) == 0x0706_4B50 {
            let recordOffset = try fileOffset(u64(locator + 8), "ZIP64 end record offset")
            guard has(recordOffset, 56), recordOffset + 56 <= locator, u32(recordOffset) == 0x0606_4B50 else {
                throw fail("bad_directory", "ZIP64 end record at byte \(recordOffset) is missing or damaged")
            }
            guard u32(recordOffset + 16) == 0, u32(recordOffset + 20) == 0 else {
                throw fail("multi_disk", "multi-disk archives are not supported")
            }
            count = u64(recordOffset + 32)
            size = u64(recordOffset + 40)
            offset = u64(recordOffset + 48)
            directoryEnd = recordOffset
        } else if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            throw fail("bad_directory", "end record needs ZIP64 values but there is no ZIP64 locator")
        }

        let start = try fileOffset(offset, "central directory offset")
        let length = try fileOffset(size, "central directory size")
        guard start <= directoryEnd, length <= directoryEnd - start else {
            throw fail("bad_directory", "central directory [\(start), \(start + length)) runs past its end record at byte \(directoryEnd) (truncated?)")
        }
        // Each central record is at least 46 bytes, which also bounds hostile counts.
        guard count <= UInt64(length / 46), count <= UInt64(ZipArchive.maxEntries) else {
            throw fail("bad_directory", "directory claims \(count) entries but holds \(length) bytes")
        }
        return Directory(offset: start, size: length, count: Int(count))
    }

    func centralEntry(at position: inout Int, end: Int, index: Int) throws(CheckpointError) -> ZipArchive.Entry {
        let at = position
        guard at + 46 <= end, u32(at) == 0x0201_4B50 else {
            throw fail("bad_directory", "central directory record \(index) at byte \(at) is missing or damaged")
        }
        let flags = u16(at + 8)
        let method = u16(at + 10)
        let crc = u32(at + 16)
        var compressed = UInt64(u32(at + 20))
        var uncompressed = UInt64(u32(at + 24))
        let nameLength = Int(u16(at + 28))
        let extraLength = Int(u16(at + 30))
        let commentLength = Int(u16(at + 32))
        let disk = u16(at + 34)
        var localOffset = UInt64(u32(at + 42))
        let recordEnd = at + 46 + nameLength + extraLength + commentLength
        guard recordEnd <= end else {
            throw fail("bad_directory", "central directory record \(index) at byte \(at) runs past the directory")
        }
        let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(at + 46)..<(at + 46 + nameLength)])
        guard let name = String(validating: nameBytes, as: UTF8.self) else {
            throw fail("bad_name", "entry name at byte \(at + 46) is not valid UTF-8")
        }
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\\"), !name.contains("\0"),
              !components.contains("..") else {
            throw fail("bad_name", "entry name '\(name)' is empty, absolute or leaves the archive")
        }
        guard flags & 0x0001 == 0 else {
            throw fail("encrypted_entry", "entry '\(name)' is encrypted")
        }

        // ZIP64 extended information: 64-bit values for exactly the fields saturated above.
        var extra = at + 46 + nameLength
        let extraEnd = extra + extraLength
        var diskIsSaturated = disk == 0xFFFF
        while extra + 4 <= extraEnd {
            let id = u16(extra)
            let length = Int(u16(extra + 2))
            let body = extra + 4
            guard body + length <= extraEnd else {
                throw fail("bad_directory", "entry '\(name)': extra field at byte \(extra) runs past its record")
            }
            if id == 0x0001 {
                var field = body
                func next() throws(CheckpointError) -> UInt64 {
                    guard field + 8 <= body + length else {
                        throw fail("bad_directory", "entry '\(name)': ZIP64 extra field at byte \(extra) is too short")
                    }
                    defer { field += 8 }
                    return u64(field)
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                if compressed == 0xFFFF_FFFF { compressed = try next() }
                if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                if diskIsSaturated {
                    guard field + 4 <= body + length else {
                        throw fail("bad_directory", "entry '\(name)': ZIP64 extra field at byte \(extra) is too short")
                    }
                    guard u32(field) == 0 else { throw fail("multi_disk", "entry '\(name)' is on another disk") }
                    diskIsSaturated = false
                }
            }
            extra = body + length
        }
        guard disk == 0 || (disk == 0xFFFF && !diskIsSaturated) else {
            throw fail("multi_disk", "entry '\(name)' is on another disk")
        }
        position = recordEnd
        return ZipArchive.Entry(
            name: name,
            size: try fileOffset(uncompressed, "entry '\(name)': size"),
            compressedSize: try fileOffset(compressed, "entry '\(name)': compressed size"),
            method: method,
            crc32: crc,
            localHeaderOffset: try fileOffset(localOffset, "entry '\(name)': local header offset"))
    }

    /// Where the entry's (stored or compressed) bytes are, after checking its local header.
    func dataRange(of entry: ZipArchive.Entry, limit: Int) throws(CheckpointError) -> Range<Int> {
        let at = entry.localHeaderOffset
        guard has(at, 30), u32(at) == 0x0403_4B50 else {
            throw fail("bad_local_header", "entry '\(entry.name)': no local header at byte \(at)")
        }
        let method = u16(at + 8)
        let nameLength = Int(u16(at + 26))
        let extraLength = Int(u16(at + 28))
        let nameStart = at + 30
        guard has(nameStart, nameLength + extraLength),
              nameLength == entry.name.utf8.count,
              UnsafeRawBufferPointer(rebasing: bytes[nameStart..<(nameStart + nameLength)]).elementsEqual(entry.name.utf8) else {
            throw fail("bad_local_header", "entry '\(entry.name)': local header at byte \(at) names a different entry")
        }
        guard method == entry.method else {
            throw fail("bad_local_header", "entry '\(entry.name)': local header at byte \(at) disagrees with the directory on the compression method")
        }
        let start = nameStart + nameLength + extraLength
        let stored = entry.method == 0 ? entry.size : entry.compressedSize
        guard entry.method != 0 || entry.compressedSize == entry.size else {
            throw fail("bad_directory", "stored entry '\(entry.name)' has compressed size \(entry.compressedSize) but size \(entry.size)")
        }
        guard start <= limit, stored <= limit - start else {
            throw fail("bad_offset", "entry '\(entry.name)': data [\(start), \(start + stored)) runs past byte \(limit) (truncated?)")
        }
        return start..<(start + stored)
    }
}
