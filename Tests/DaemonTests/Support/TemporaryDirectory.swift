import Foundation

/// A fresh directory under /tmp, removed (with everything in it) when released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/volumed-daemon-tests.XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "mkdtemp failed: errno \(errno)"])
        }
        path = String(cString: created)
    }

    deinit {
        // Folders a test made unreadable must become traversable again to be removed.
        _ = try? Process.run(URL(fileURLWithPath: "/bin/chmod"), arguments: ["-R", "u+rwx", path]).waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
    }

    func url(_ relative: String) -> URL {
        URL(fileURLWithPath: path).appendingPathComponent(relative)
    }

    @discardableResult
    func makeFolder(_ relative: String) throws -> String {
        try FileManager.default.createDirectory(at: url(relative), withIntermediateDirectories: true)
        return url(relative).path
    }

    @discardableResult
    func write(_ relative: String, bytes count: Int) throws -> String {
        try Data(repeating: 7, count: count).write(to: url(relative))
        return url(relative).path
    }

    @discardableResult
    func write(_ relative: String, text: String) throws -> String {
        try Data(text.utf8).write(to: url(relative))
        return url(relative).path
    }

    func symlink(_ relative: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: url(relative).path, withDestinationPath: destination)
    }

    func rename(_ from: String, to: String) throws {
        guard Foundation.rename(url(from).path, url(to).path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "rename failed: errno \(errno)"])
        }
    }
}
