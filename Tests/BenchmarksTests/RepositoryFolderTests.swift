import Benchmarks
import Foundation
import Testing

/// How `volumed bench` finds `fixtures/` and `examples/` without being told.
@Suite struct RepositoryFolderTests {
    @Test func prefersTheFolderInTheCurrentDirectory() throws {
        let here = try makeFolder(withMarker: true)
        defer { try? FileManager.default.removeItem(atPath: here) }
        #expect(try RepositoryFolder.fixtures.locate(currentDirectory: here) == here + "/fixtures")
    }

    @Test func fallsBackToTheSourceTreeItWasBuiltFrom() throws {
        let here = try makeFolder(withMarker: false)
        defer { try? FileManager.default.removeItem(atPath: here) }
        let found = try RepositoryFolder.fixtures.locate(currentDirectory: here)
        #expect(found == RepositoryFolder.sourceTree + "/fixtures")
        #expect(FileManager.default.fileExists(atPath: found + "/digits/checkpoint-100/model.safetensors"))
        #expect(try RepositoryFolder.examples.locate(currentDirectory: here) == RepositoryFolder.sourceTree + "/examples")
    }

    /// A `fixtures/` without reference.json is someone else's folder; the error names both places
    /// looked in and the option that overrides them.
    @Test func failsNamingWhereItLookedAndTheOption() throws {
        let here = try makeFolder(withMarker: false)
        defer { try? FileManager.default.removeItem(atPath: here) }
        let error = #expect(throws: BenchmarkError.self) {
            try RepositoryFolder.fixtures.locate(currentDirectory: here, sourceTree: "/nonexistent")
        }
        #expect(error?.code == "bench.fixtures")
        #expect(error?.description == "no fixtures folder: neither \(here)/fixtures nor /nonexistent/fixtures holds reference.json; run from the repository root or pass --fixtures <folder>")
    }

    @Test func checksAFolderGivenExplicitly() throws {
        let here = try makeFolder(withMarker: true)
        defer { try? FileManager.default.removeItem(atPath: here) }
        #expect(try RepositoryFolder.fixtures.locate(explicit: here + "/fixtures") == here + "/fixtures")
        let error = #expect(throws: BenchmarkError.self) {
            try RepositoryFolder.fixtures.locate(explicit: here)
        }
        #expect(error?.description == "\(here) is not the repository's fixtures folder: it has no reference.json")
    }

    /// A temporary folder with a `fixtures/` subfolder, holding reference.json when `withMarker`.
    private func makeFolder(withMarker: Bool) throws -> String {
        let path = NSTemporaryDirectory() + "volumed-folder-test-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path + "/fixtures", withIntermediateDirectories: true)
        if withMarker {
            try Data("{}".utf8).write(to: URL(fileURLWithPath: path + "/fixtures/reference.json"))
        }
        return path
    }
}
