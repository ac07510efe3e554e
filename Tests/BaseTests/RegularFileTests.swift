import Foundation
import SystemPackage
import Testing
@testable import Base

@Suite struct RegularFileTests {
    @Test func readsAWholeFileUpToItsLimit() throws {
        let folder = try ScratchFolder()
        let bytes: [UInt8] = Array(0...255) + [0, 10, 13]
        let path = try folder.write("data.bin", bytes)
        #expect(try RegularFile.read(path, limit: bytes.count) == bytes)
        #expect(try RegularFile.read(try folder.write("empty", []), limit: 0) == [])
    }

    @Test func refusesAFileOneByteOverTheLimit() throws {
        let folder = try ScratchFolder()
        let path = try folder.write("big.json", Array(repeating: 0x20, count: 101))
        let error = #expect(throws: FileError.self) { try RegularFile.read(path, limit: 100) }
        #expect(error?.reason == .tooLarge(size: 101, limit: 100))
        #expect(error?.code == "file.too_large")
        #expect(error?.description == "\(path): file is 101 bytes; at most 100 are read")
    }

    @Test func aMissingFileIsNotFound() throws {
        let path = try ScratchFolder().path + "/absent.toml"
        let error = #expect(throws: FileError.self) { try RegularFile.read(path, limit: 100) }
        #expect(error?.reason == .system(.noSuchFileOrDirectory))
        #expect(error?.code == "file.not_found")
        #expect(error?.description == "\(path): cannot open: No such file or directory")
    }

    @Test func aFolderIsNotARegularFile() throws {
        let folder = try ScratchFolder()
        let error = #expect(throws: FileError.self) { try RegularFile.read(folder.path, limit: 100) }
        #expect(error?.reason == .notRegular)
        #expect(error?.code == "file.io")
        #expect(error?.detail == "not a regular file")
    }

    /// Opening a FIFO for reading blocks until a writer comes, unless it is opened non-blocking.
    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let folder = try ScratchFolder()
        let fifo = folder.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let error = #expect(throws: FileError.self) { try RegularFile.read(fifo, limit: 100) }
        #expect(error?.reason == .notRegular)
    }

    /// /proc files are regular files that report size 0 and still have contents: exactly what
    /// a file that grew after it was opened looks like.
    @Test func aFileWhoseSizeChangesWhileReadIsRefused() throws {
        let error = #expect(throws: FileError.self) { try RegularFile.read("/proc/self/status", limit: 1 << 20) }
        #expect(error?.reason == .changed)
        #expect(error?.code == "file.changed")
        #expect(error?.detail == "file changed size while being read (still being written?)")
    }

    @Test func readToEndTakesWhatWasAddedAfterOpening() throws {
        let folder = try ScratchFolder()
        let path = try folder.write("log", Array("first\n".utf8))
        let file = try RegularFile(opening: path)
        #expect(file.size == 6)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(repeating: 0x61, count: 100_000))
        try handle.close()
        let bytes = try file.readToEnd()
        #expect(bytes.count == 100_006)
        #expect(bytes.prefix(6) == ArraySlice("first\n".utf8))
    }
}

@Suite struct FileErrorTests {
    @Test func systemErrorsMapToStableCodes() {
        func code(_ errno: Errno) -> String { FileError(path: "/f", operation: "open", reason: .system(errno)).code }
        #expect(code(.noSuchFileOrDirectory) == "file.not_found")
        #expect(code(.permissionDenied) == "file.permission_denied")
        #expect(code(.notPermitted) == "file.permission_denied")
        #expect(code(.ioError) == "file.io")
        #expect(code(.isDirectory) == "file.io")
    }

    @Test func messagesNameThePathTheCallAndTheSystemReason() {
        let error = FileError(path: "/srv/model.safetensors", operation: "mmap", reason: .system(.noMemory))
        #expect(error.description == "/srv/model.safetensors: cannot mmap: Cannot allocate memory")
        #expect(error.detail == "cannot mmap: Cannot allocate memory")
    }

    @Test func currentErrnoIsTheCallingThreadsErrno() {
        #expect(open("/nonexistent/volumed", O_RDONLY) == -1)
        #expect(Errno.current == .noSuchFileOrDirectory)
        #expect("\(Errno.current)" == "No such file or directory")
        errno = EACCES
        #expect(Errno.current == .permissionDenied)
    }
}
