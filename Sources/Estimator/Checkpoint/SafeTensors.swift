import Base

/// A `.safetensors` file, memory-mapped and validated when opened; tensors are zero-copy
/// views into the map.
///
/// Layout: an 8-byte little-endian header length `n`, `n` bytes of JSON mapping tensor names to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data section
/// that starts at byte `8 + n`), and an optional `__metadata__` object of strings.
public final class SafeTensorsFile: TensorStore, @unchecked Sendable {
    /// Larger headers are refused before they are read (the reference implementation's limit).
    public static let maxHeaderLength = 100_000_000

    public let path: String
    public let metadata: [String: String]
    /// Tensor names in header order.
    public let tensorNames: [String]

    private let file: MappedFile
    private let entries: [String: Entry]
    private let dataStart: Int

    private struct Entry {
        let dtype: DType
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    public var source: String { path }

    public convenience init(path: String) throws(CheckpointError) {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw CheckpointError(error) }
        try self.init(file: file)
    }

    /// Validates `file`'s bytes as a safetensors file; errors name `file.path`.
    public init(file: MappedFile) throws(CheckpointError) {
        let path = file.path
        self.path = path
        self.file = file
        let bytes = file.bytes

        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("safetensors.\(code)", file: path, detail)
        }

        guard bytes.count >= 8 else {
            throw fail("truncated", "file is \(bytes.count) bytes, too short for the 8-byte header length")
        }
        let declared = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard declared <= UInt64(Self.maxHeaderLength) else {
            throw fail("header_too_large", "header length \(declared) exceeds the \(Self.maxHeaderLength)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength <= bytes.count - 8 else {
            throw fail("header_length", "header length \(headerLength) exceeds the \(bytes.count - 8) bytes after the length field (file is \(bytes.count) bytes; truncated?)")
        }
        let dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart
        self.dataStart = dataStart

        let header: JSONValue
        do {
            header = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]))
        } catch {
            throw fail("header_json", "header is not valid JSON: \(error.reason) at byte \(8 + error.offset)")
        }
        guard case .object(let object) = header else {
            throw fail("header_json", "header is not a JSON object")
        }

        var metadata: [String: String] = [:]
        var names: [String] = []
        var entries: [String: Entry] = [:]
        for (name, value) in object.entries {
            if name == "__metadata__" {
                guard case .object(let m) = value else { throw fail("bad_metadata", "__metadata__ is not an object") }
                for (key, v) in m.entries {
                    guard case .string(let s) = v else {
                        throw fail("bad_metadata", "__metadata__ value for '\(key)' is not a string")
                    }
                    metadata[key] = s
                }
                continue
            }
            let entry = try Self.entry(name, value, dataSize: dataSize, dataStart: dataStart, fail: fail)
            names.append(name)
            entries[name] = entry
        }

        // Overlapping tensors would alias each other's bytes; empty tensors occupy nothing.
        let placed = names.compactMap { n in entries[n].flatMap { $0.end > $0.begin ? (n, $0) : nil } }
            .sorted { $0.1.begin < $1.1.begin }
        for (previous, next) in zip(placed, placed.dropFirst()) where next.1.begin < previous.1.end {
            throw fail("overlap", "tensor '\(next.0)': data_offsets [\(next.1.begin), \(next.1.end)] overlap tensor '\(previous.0)' at [\(previous.1.begin), \(previous.1.end)]")
        }

        self.metadata = metadata
        self.tensorNames = names
        self.entries = entries
    }

    private static func entry(
        _ name: String, _ value: JSONValue, dataSize: Int, dataStart: Int,
        fail: (String, String) -> CheckpointError
    ) throws(CheckpointError) -> Entry {
        let subject = "tensor '\(name)'"
        guard case .object(let info) = value else { throw fail("bad_entry", "\(subject): entry is not an object") }
        guard let dtypeName = info["dtype"]?.stringValue else {
            throw fail("bad_entry", "\(subject): missing or non-string dtype")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw fail("bad_dtype", "\(subject): unsupported dtype '\(dtypeName)'")
        }
        guard let dims = info["shape"]?.arrayValue else {
            throw fail("bad_shape", "\(subject): missing or non-array shape")
        }
        var shape: [Int] = []
        for d in dims {
            guard let n = d.intValue, n >= 0 else {
                throw fail("bad_shape", "\(subject): shape \(JSONValue.array(dims).serialized()) has a dimension that is not a non-negative integer")
            }
            shape.append(n)
        }
        guard let count = elementCount(shape), case (let byteCount, false) = count.multipliedReportingOverflow(by: dtype.byteWidth) else {
            throw fail("bad_shape", "\(subject): shape \(shape) has too many elements")
        }
        guard let offsets = info["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = offsets[0].intValue, let end = offsets[1].intValue else {
            throw fail("bad_offsets", "\(subject): data_offsets must be two integers")
        }
        guard begin >= 0, begin <= end else {
            throw fail("bad_offsets", "\(subject): data_offsets [\(begin), \(end)] are not an ordered pair of non-negative offsets")
        }
        guard end <= dataSize else {
            throw fail("bad_offsets", "\(subject): data_offsets [\(begin), \(end)] exceed the \(dataSize)-byte data section (which starts at byte \(dataStart); truncated?); the tensor is \(dtype.rawValue) \(shape)")
        }
        guard end - begin == byteCount else {
            throw fail("size_mismatch", "\(subject): data_offsets [\(begin), \(end)] hold \(end - begin) bytes but \(dtype.rawValue) \(shape) needs \(byteCount)")
        }
        return Entry(dtype: dtype, shape: shape, begin: begin, end: end)
    }

    public func tensorInfo(_ name: String) -> (dtype: DType, shape: [Int])? {
        entries[name].map { ($0.dtype, $0.shape) }
    }

    public func tensor(_ name: String) throws(CheckpointError) -> RawTensor {
        guard let e = entries[name] else { throw .missingTensor(name, in: path) }
        let view = UnsafeRawBufferPointer(rebasing: file.bytes[(dataStart + e.begin)..<(dataStart + e.end)])
        return RawTensor(dtype: e.dtype, shape: e.shape, bytes: view, owner: file)
    }
}
