/// A contiguous little-endian tensor as a checkpoint stores it, viewed in place
/// (usually inside a memory-mapped file that `owner` keeps alive).
public struct RawTensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    /// Exactly `count * dtype.byteWidth` bytes.
    public let bytes: UnsafeRawBufferPointer
    private let owner: AnyObject?

    /// `bytes` must hold exactly the tensor's elements and stay valid while `owner` lives.
    public init(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, owner: AnyObject?) {
        precondition(elementCount(shape).map { $0 * dtype.byteWidth } == bytes.count)
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.owner = owner
    }

    /// A tensor that owns a copy of `data`.
    public init(dtype: DType, shape: [Int], data: [UInt8]) {
        let box = ByteBox(data)
        self.init(dtype: dtype, shape: shape, bytes: UnsafeRawBufferPointer(rebasing: box.storage[0..<data.count]), owner: box)
    }

    public var count: Int { bytes.count / dtype.byteWidth }

    /// The elements converted to float32 (integers and booleans included).
    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, n in
            convert(into: out) { Float($0) }
            n = count
        }
    }

    /// Writes the elements converted to float32 to `out[0..<count]` (floating-point tensors: a
    /// copy for float32, exact widening for float16 and bfloat16).
    public func widen(into out: UnsafeMutablePointer<Float>) {
        let b = bytes
        switch dtype {
        case .f32:
            if let base = b.baseAddress { UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: b.count) }
        case .f16:
            for i in 0..<count { out[i] = halfToFloat(b.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
        case .bf16:
            for i in 0..<count {
                out[i] = Float(bitPattern: UInt32(b.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16)
            }
        default:
            convert(into: UnsafeMutableBufferPointer(start: out, count: count)) { Float($0) }
        }
    }

    /// Drops this tensor's pages of a memory-mapped file from the process's resident memory, once
    /// they were copied: they are read again from the file if the tensor is read again. Nothing
    /// for tensors not in a mapped file.
    public func releasePages() {
        (owner as? any MappedBytes)?.mappedFile.release(bytes)
    }

    /// The elements converted to float64.
    public func doubles() -> [Double] {
        [Double](unsafeUninitializedCapacity: count) { out, n in
            convert(into: out) { $0 }
            n = count
        }
    }

    /// The elements of an integer or boolean tensor; nil for floating-point tensors.
    public func integers() -> [Int64]? {
        let b = bytes
        switch dtype {
        case .i64: return (0..<count).map { b.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
        case .i32: return (0..<count).map { Int64(b.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .i16: return (0..<count).map { Int64(b.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
        case .i8: return (0..<count).map { Int64(Int8(bitPattern: b[$0])) }
        case .u8, .bool: return (0..<count).map { Int64(b[$0]) }
        case .f64, .f32, .f16, .bf16: return nil
        }
    }

    public func floatTensor() -> Tensor<Float> { Tensor(shape: shape, scalars: floats()) }

    private func convert<T>(into out: UnsafeMutableBufferPointer<T>, _ make: (Double) -> T) {
        let b = bytes
        switch dtype {
        case .f32:
            for i in 0..<count { out[i] = make(Double(b.loadUnaligned(fromByteOffset: i * 4, as: Float.self))) }
        case .f64:
            for i in 0..<count { out[i] = make(b.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
        case .f16:
            for i in 0..<count { out[i] = make(Double(halfToFloat(b.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)))) }
        case .bf16:
            for i in 0..<count {
                let bits = UInt32(b.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16
                out[i] = make(Double(Float(bitPattern: bits)))
            }
        case .i64:
            for i in 0..<count { out[i] = make(Double(b.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))) }
        case .i32:
            for i in 0..<count { out[i] = make(Double(b.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
        case .i16:
            for i in 0..<count { out[i] = make(Double(b.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))) }
        case .i8:
            for i in 0..<count { out[i] = make(Double(Int8(bitPattern: b[i]))) }
        case .u8, .bool:
            for i in 0..<count { out[i] = make(Double(b[i])) }
        }
    }
}

/// IEEE 754 binary16 → binary32, exact (subnormals, infinities and NaN included).
@inlinable
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F {
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    if exponent == 0 {
        // Zero or subnormal: mantissa × 2^-24, exactly representable in float32.
        let magnitude = Float(mantissa) * 0x1p-24
        return sign == 0 ? magnitude : -magnitude
    }
    return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
}

private final class ByteBox {
    let storage: UnsafeMutableRawBufferPointer
    init(_ data: [UInt8]) {
        storage = .allocate(byteCount: max(data.count, 1), alignment: 16)
        data.withUnsafeBytes { storage.copyMemory(from: $0) }
    }
    deinit { storage.deallocate() }
}
