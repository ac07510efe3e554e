import Foundation

/// A top-level folder of the repository that `volumed bench` reads (`fixtures/`, `examples/`):
/// found in the current directory, else in the source tree this binary was built from, so the
/// bench runs from the repository root and, on the build machine, from anywhere.
public struct RepositoryFolder: Sendable {
    /// The folder's name at the top of the repository, also the bench option that overrides it.
    public let name: String
    /// A file inside the folder (relative to it) that tells it apart from an unrelated folder
    /// of the same name.
    public let marker: String

    /// The fixture checkpoints and the reference implementation's results.
    public static let fixtures = RepositoryFolder(name: "fixtures", marker: "reference.json")
    /// The example runs `volumed demo` and the latency benchmark use.
    public static let examples = RepositoryFolder(name: "examples", marker: "digits/volume.toml")

    /// The root of the source tree this file was compiled from.
    public static let sourceTree = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    public init(name: String, marker: String) {
        self.name = name
        self.marker = marker
    }

    /// `explicit` when given (checked), else the first of the candidates that holds the marker.
    public func locate(explicit: String? = nil,
                       currentDirectory: String = FileManager.default.currentDirectoryPath,
                       sourceTree: String = Self.sourceTree) throws(BenchmarkError) -> String {
        if let explicit {
            guard holdsMarker(explicit) else {
                throw BenchmarkError(code: "bench.\(name)", "\(explicit) is not the repository's \(name) folder: it has no \(marker)")
            }
            return explicit
        }
        let candidates = [currentDirectory, sourceTree].map { $0 + "/" + name }
        guard let found = candidates.first(where: holdsMarker) else {
            throw BenchmarkError(code: "bench.\(name)",
                                 "no \(name) folder: neither \(candidates.joined(separator: " nor ")) holds \(marker); run from the repository root or pass --\(name) <folder>")
        }
        return found
    }

    private func holdsMarker(_ folder: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/" + marker)
    }
}
