/// A `.npy` file of token ids, validated when opened: format version 1.0, 2.0 or 3.0, an
/// integer dtype in either byte order, rank 1 (a stream) or 2 (`[N, T]` rows), C or Fortran
/// order, and exactly the data bytes the header's shape needs.
///
/// Layout: `\x93NUMPY`, major and minor version bytes, the header length (2 bytes little-endian
/// for 1.0, 4 bytes for 2.0 and 3.0), the header (a Python dict literal), then the data.
public struct NumpyArray: Sendable {
    /// numpy's own reader refuses longer headers unless told otherwise.
    public static let maxHeaderLength = 10_000
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    public let path: String
    public let shape: [Int]
    let dtype: TokenIDType
    /// Column-major data: `[N, T]` is stored column by column.
    let fortranOrder: Bool
    /// Where the data starts.
    let dataOffset: Int
    private let file: MappedFile

    public init(path: String) throws(CheckpointError) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw CheckpointError(error) }
        try self.init(file: file)
    }

    /// Validates `file`'s bytes as a `.npy` file of token ids; errors name `file.path`.
    public init(file: MappedFile) throws(CheckpointError) {
        let path = file.path
        let bytes = file.bytes
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("tokens.\(code)", file: path, detail)
        }

        guard bytes.count >= 8 else {
            throw fail("truncated", "file is \(bytes.count) bytes, too short for the 8-byte .npy magic and version")
        }
        guard bytes.prefix(6).elementsEqual(Self.magic) else {
            throw fail("bad_magic", "file does not start with the .npy magic \\x93NUMPY")
        }
        let major = bytes[6], minor = bytes[7]
        guard (1...3).contains(major), minor == 0 else {
            throw fail("bad_version", ".npy format version \(major).\(minor) at byte 6 is not 1.0, 2.0 or 3.0")
        }
        let lengthBytes = major == 1 ? 2 : 4
        let headerStart = 8 + lengthBytes
        guard bytes.count >= headerStart else {
            throw fail("truncated", "file is \(bytes.count) bytes, too short for the \(lengthBytes)-byte header length at byte 8")
        }
        let headerLength = major == 1
            ? Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
            : Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard headerLength <= Self.maxHeaderLength else {
            throw fail("bad_header", "header length \(headerLength) at byte 8 exceeds the \(Self.maxHeaderLength)-byte limit")
        }
        guard headerLength <= bytes.count - headerStart else {
            throw fail("truncated", "header length \(headerLength) at byte 8 runs past the end of the \(bytes.count)-byte file")
        }
        let dataOffset = headerStart + headerLength

        let header: NumpyHeader
        do {
            header = try NumpyHeader(UnsafeRawBufferPointer(rebasing: bytes[headerStart..<dataOffset]))
        } catch {
            let place = error.offset.map { " at byte \(headerStart + $0)" } ?? ""
            throw fail("bad_header", "header\(place): \(error.reason)")
        }
        guard let dtype = Self.dtype(header.descr) else {
            throw fail("bad_dtype", "dtype '\(header.descr)' is not an integer type; token ids must be int32 ('<i4'), int64 ('<i8') or uint16 ('<u2') (also int8/int16/uint8/uint32/uint64, either byte order)")
        }
        guard header.shape.count == 1 || header.shape.count == 2 else {
            throw fail("bad_shape", "shape \(header.shape) has rank \(header.shape.count); token ids must be [N, T] rows or one flat stream")
        }
        var count = 1
        for d in header.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("size_mismatch", "shape \(header.shape) has too many elements") }
            count = product
        }
        let (needed, overflow) = count.multipliedReportingOverflow(by: dtype.byteWidth)
        guard !overflow, needed == bytes.count - dataOffset else {
            throw fail("size_mismatch", "shape \(header.shape) of \(header.descr) needs \(overflow ? "more than \(Int.max)" : String(needed)) data bytes after the header (which ends at byte \(dataOffset)), but the file has \(bytes.count - dataOffset) (truncated?)")
        }
        guard count > 0 else { throw fail("empty", "shape \(header.shape) holds no token ids") }
        guard count <= TokenFile.maxTokens else {
            throw TokenFile.tooLarge(path, count, "keep the eval rows in a smaller file")
        }

        self.path = path
        self.shape = header.shape
        self.dtype = dtype
        self.fortranOrder = header.fortranOrder
        self.dataOffset = dataOffset
        self.file = file
    }

    /// numpy's integer type strings: a byte order (`<`, `>`, `|` for one byte, `=` native),
    /// `i` or `u`, and the width in bytes.
    static func dtype(_ descr: String) -> TokenIDType? {
        let chars = Array(descr.utf8)
        guard chars.count == 3, let width = Int(String(decoding: chars[2...], as: UTF8.self)),
              [1, 2, 4, 8].contains(width) else { return nil }
        let signed: Bool
        switch chars[1] {
        case UInt8(ascii: "i"): signed = true
        case UInt8(ascii: "u"): signed = false
        default: return nil
        }
        switch chars[0] {
        case UInt8(ascii: "<"), UInt8(ascii: "="): return TokenIDType(byteWidth: width, isSigned: signed, isBigEndian: false)
        case UInt8(ascii: ">"): return TokenIDType(byteWidth: width, isSigned: signed, isBigEndian: true)
        case UInt8(ascii: "|") where width == 1: return TokenIDType(byteWidth: 1, isSigned: signed, isBigEndian: false)
        default: return nil
        }
    }

    /// The ids: rows for rank 2 (transposed from Fortran order), a stream for rank 1. Every id
    /// must lie in `0...Int32.max`; the error names the first that does not.
    public func tokenSource() throws(CheckpointError) -> TokenSource {
        let count = shape.reduce(1, *)
        let data = UnsafeRawBufferPointer(rebasing: file.bytes[dataOffset...])
        var ids: [Int32] = []
        do {
            try dtype.decode(data, count: count, into: &ids)
        } catch {
            throw CheckpointError("tokens.bad_id", file: path,
                                  "token id \(error.value) at \(place(ofStoredIndex: error.index)) (byte \(dataOffset + error.index * dtype.byteWidth)) is not in 0...\(Int32.max)")
        }
        guard shape.count == 2 else { return .stream(ids) }
        let (rows, width) = (shape[0], shape[1])
        if fortranOrder {
            ids = [Int32](unsafeUninitializedCapacity: count) { out, initialized in
                for r in 0..<rows {
                    for c in 0..<width { out[r * width + c] = ids[c * rows + r] }
                }
                initialized = count
            }
        }
        return .rows(Tensor(shape: shape, scalars: ids))
    }

    /// "row r, position p" (or "position p" of a stream) of the element stored `index`-th.
    private func place(ofStoredIndex index: Int) -> String {
        guard shape.count == 2 else { return "position \(index)" }
        let (row, position) = fortranOrder ? (index % shape[0], index / shape[0]) : (index / shape[1], index % shape[1])
        return "row \(row), position \(position)"
    }
}
