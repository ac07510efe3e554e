@testable import Estimator

/// Writes small ZIP archives the way torch.save lays them out (stored entries, no ZIP64),
/// with knobs to break them.
struct ZipBuilder {
    struct Entry {
        var name: String
        var data: [UInt8]
        var method: UInt16 = 0
        var crc: UInt32? = nil
    }

    var entries: [Entry] = []
    /// Write ZIP64 records: saturated 32-bit fields, ZIP64 extra fields, end record and locator.
    var zip64 = false

    mutating func add(_ name: String, _ data: [UInt8], method: UInt16 = 0, crc: UInt32? = nil) {
        entries.append(Entry(name: name, data: data, method: method, crc: crc))
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let name = Array(entry.name.utf8)
            let crc = entry.crc ?? entry.data.withUnsafeBytes { CRC32.checksum($0) }
            let offset = UInt32(out.count)
            out += le32(0x0403_4B50) + le16(20) + le16(0) + le16(entry.method) + le16(0) + le16(0)
            out += le32(crc) + le32(UInt32(entry.data.count)) + le32(UInt32(entry.data.count))
            out += le16(UInt16(name.count)) + le16(0) + name + entry.data
            central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0) + le16(entry.method) + le16(0) + le16(0)
            if zip64 {
                let extra = le16(1) + le16(24) + le64(UInt64(entry.data.count)) + le64(UInt64(entry.data.count)) + le64(UInt64(offset))
                central += le32(crc) + le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF)
                central += le16(UInt16(name.count)) + le16(UInt16(extra.count)) + le16(0) + le16(0) + le16(0) + le32(0) + le32(0xFFFF_FFFF)
                central += name + extra
            } else {
                central += le32(crc) + le32(UInt32(entry.data.count)) + le32(UInt32(entry.data.count))
                central += le16(UInt16(name.count)) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + name
            }
        }
        let directoryOffset = UInt32(out.count)
        out += central
        if zip64 {
            let record = UInt64(out.count)
            let count = UInt64(entries.count)
            out += le32(0x0606_4B50) + le64(44) + le16(45) + le16(45) + le32(0) + le32(0)
            out += le64(count) + le64(count) + le64(UInt64(central.count)) + le64(UInt64(directoryOffset))
            out += le32(0x0706_4B50) + le32(0) + le64(record) + le32(1)
            out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(0xFFFF) + le16(0xFFFF)
            out += le32(0xFFFF_FFFF) + le32(0xFFFF_FFFF) + le16(0)
        } else {
            out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(entries.count)) + le16(UInt16(entries.count))
            out += le32(UInt32(central.count)) + le32(directoryOffset) + le16(0)
        }
        return out
    }
}

func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
func le64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

/// Assembles pickle opcodes by name, for hand-built (and hostile) pickles.
struct PickleWriter {
    var bytes: [UInt8] = [0x80, 2]

    mutating func op(_ code: UInt8, _ operand: [UInt8] = []) { bytes += [code] + operand }
    mutating func mark() { op(0x28) }
    mutating func stop() { op(0x2E) }
    mutating func global(_ module: String, _ name: String) { op(0x63, Array("\(module)\n\(name)\n".utf8)) }
    mutating func string(_ s: String) { op(0x58, le32(UInt32(s.utf8.count)) + Array(s.utf8)) }
    mutating func int(_ v: Int32) { op(0x4A, le32(UInt32(bitPattern: v))) }
    mutating func tuple() { op(0x74) }
    mutating func emptyTuple() { op(0x29) }
    mutating func newFalse() { op(0x89) }
    mutating func reduce() { op(0x52) }
    mutating func binPersID() { op(0x51) }
    mutating func ints(_ values: [Int32]) { mark(); for v in values { int(v) }; tuple() }

    /// `_rebuild_tensor_v2(('storage', <type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`.
    mutating func tensor(storage type: String, key: String, numel: Int32, offset: Int32, size: [Int32], stride: [Int32]) {
        global("torch._utils", "_rebuild_tensor_v2")
        mark()
        mark(); string("storage"); global("torch", type); string(key); string("cpu"); int(numel); tuple()
        binPersID()
        int(offset)
        ints(size)
        ints(stride)
        newFalse()
        global("collections", "OrderedDict"); emptyTuple(); reduce()
        tuple()
        reduce()
    }
}
