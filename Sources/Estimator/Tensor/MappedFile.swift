import Base
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What holds a `MappedFile` whose bytes tensors view (the file itself, a ZIP archive).
protocol MappedBytes: AnyObject {
    var mappedFile: MappedFile { get }
}

extension MappedFile: MappedBytes {
    var mappedFile: MappedFile { self }
}

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

    /// Drops the whole pages inside `range` (a view of these bytes) from the process's resident
    /// memory. The map is private and never written, so a later read faults them in from the
    /// file again: this only ends their residency, as reading a checkpoint once needs.
    public func release(_ range: UnsafeRawBufferPointer) {
        guard isMapped, let base = bytes.baseAddress, let start = range.baseAddress,
              start >= base, start + range.count <= base + bytes.count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + range.count) / page * page
        guard end > first else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED)
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
