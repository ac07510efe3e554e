import Base
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of a whole file, released when the last reference goes: a read-only memory map,
/// or a private in-memory copy for bytes that never were a file (fuzzing).
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let isMapped: Bool

    public init(path: String) throws(FileError) {
        self.path = path
        isMapped = true
        let file = try RegularFile(opening: path)
        if file.size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, file.size, PROT_READ, MAP_PRIVATE, file.descriptor.rawValue, 0), base != MAP_FAILED else {
            throw FileError(path: path, operation: "mmap", reason: .system(.current))
        }
        bytes = UnsafeRawBufferPointer(start: base, count: file.size)
    }

    /// A copy of `contents` that parsers read exactly as a mapped file named `path`. The copy is
    /// sized exactly, so an address sanitizer catches any read past its end.
    public init(path: String, contents: some Collection<UInt8>) {
        self.path = path
        isMapped = false
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: contents.count, alignment: 16)
        copy.copyBytes(from: contents)
        bytes = UnsafeRawBufferPointer(copy)
    }

    deinit {
        if isMapped {
            if let base = bytes.baseAddress {
                munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
            }
        } else {
            UnsafeMutableRawBufferPointer(mutating: bytes).deallocate()
        }
    }
}
