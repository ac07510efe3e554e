import Config
import Foundation
import Testing

@testable import Daemon

/// The shipped systemd units and sample configuration, checked with systemd's own tools.
@Suite struct SystemdUnitTests {
    private static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private static let systemdFolder = repository.appendingPathComponent("systemd")

    private struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    /// The `volumed` executable `swift build` puts next to this test bundle.
    private func builtVolumed() throws -> String {
        let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let path = URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("volumed").path
        try #require(
            FileManager.default.isExecutableFile(atPath: path),
            "no volumed executable at \(path): run `swift build` before `swift test` so the units can be verified against it")
        return path
    }

    private func run(_ tool: String, _ arguments: [String], in folder: TemporaryDirectory) throws -> Result {
        try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: install systemd")
        let output = folder.url("tool.out"), errors = folder.url("tool.err")
        try #require(FileManager.default.createFile(atPath: output.path, contents: nil))
        try #require(FileManager.default.createFile(atPath: errors.path, contents: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            output: try String(contentsOf: output, encoding: .utf8),
            errors: try String(contentsOf: errors, encoding: .utf8))
    }

    /// A copy of a shipped unit whose ExecStart runs the built binary (verify checks that it
    /// exists and is executable), after `edit`.
    private func copy(_ unit: String, into folder: TemporaryDirectory, edit: (String) -> String = { $0 }) throws -> String {
        let text = try String(contentsOf: Self.systemdFolder.appendingPathComponent(unit), encoding: .utf8)
        let pointed = text.replacingOccurrences(of: "/usr/local/bin/volumed", with: try builtVolumed())
        return try folder.write(unit, text: edit(pointed))
    }

    private func verify(_ path: String, in folder: TemporaryDirectory) throws -> Result {
        try run("/usr/bin/systemd-analyze", ["verify", path], in: folder)
    }

    @Test(arguments: ["volumed.service", "volumed@.service"])
    func unitVerifiesWithoutAnyComplaint(unit: String) throws {
        let folder = try TemporaryDirectory()
        let result = try verify(try copy(unit, into: folder), in: folder)
        // verify exits 0 even for keys it ignores; any output is a problem.
        #expect(result.status == 0)
        #expect(result.errors == "")
        #expect(result.output == "")
    }

    @Test(arguments: ["volumed.service", "volumed@.service"])
    func verifyNoticesABrokenCopy(unit: String) throws {
        let folder = try TemporaryDirectory()
        let broken = try copy(unit, into: folder) { $0.replacingOccurrences(of: "WatchdogSec=60", with: "WatchdogSec=banana") }
        let result = try verify(broken, in: folder)
        #expect(result.errors.contains("banana"), "stderr: \(result.errors)")
    }

    /// The score the README quotes: `systemd-analyze security --offline=true` rates exposure
    /// from 0 (locked down) to 10 (unsafe); "OK" ends at 4.9.
    @Test(arguments: ["volumed.service", "volumed@.service"])
    func hardeningKeepsTheExposureScoreAtMost1_5(unit: String) throws {
        let folder = try TemporaryDirectory()
        let path = try copy(unit, into: folder)
        let result = try run("/usr/bin/systemd-analyze", ["security", "--offline=true", "--no-pager", path], in: folder)
        let line = try #require(result.output.split(separator: "\n").first { $0.contains("Overall exposure level") },
                                "no score in: \(result.output) \(result.errors)")
        let score = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }, "\(line)")
        #expect(score <= 1.5, "\(line)")
        #expect(result.output.contains("✓ User=/DynamicUser="), "the service must not run as root")
    }

    @Test func unitsDeclareWhatTheDaemonReliesOn() throws {
        func settings(_ unit: String) throws -> [String: [String]] {
            let text = try String(contentsOf: Self.systemdFolder.appendingPathComponent(unit), encoding: .utf8)
            var settings: [String: [String]] = [:]
            for line in text.split(separator: "\n") where !line.hasPrefix("#") && line.contains("=") {
                let pair = line.split(separator: "=", maxSplits: 1)
                settings[String(pair[0]), default: []].append(pair.count == 2 ? String(pair[1]) : "")
            }
            return settings
        }
        for unit in ["volumed.service", "volumed@.service"] {
            let service = try settings(unit)
            #expect(service["Type"] == ["notify"], "\(unit)")
            #expect(service["NotifyAccess"] == ["main"], "\(unit)")
            #expect(service["WatchdogSec"] == ["60"], "\(unit)")
            #expect(service["ExecReload"] == ["/bin/kill -HUP $MAINPID"], "\(unit)")
            // SIGTERM must reach volumed alone, which then stops its own PostgreSQL.
            #expect(service["KillMode"] == ["mixed"], "\(unit)")
            #expect(service["MemoryDenyWriteExecute"] == ["yes"], "\(unit)")
        }
        #expect(try settings("volumed.service")["ExecStart"] == ["/usr/local/bin/volumed serve --config /etc/volumed/volumed.toml"])
        #expect(try settings("volumed.service")["StateDirectory"] == ["volumed"])
        #expect(try settings("volumed.service")["ReadOnlyPaths"] == ["-" + Config.Watch.defaultRoot])
        #expect(
            try settings("volumed@.service")["ExecStart"] == [
                "/usr/local/bin/volumed serve --workers-only --config /etc/volumed/volumed.toml"
            ])
    }

    @Test func sampleConfigurationHoldsTheDefaultsAndNamesEveryKey() throws {
        let sample = Self.systemdFolder.appendingPathComponent("volumed.toml")
        #expect(try Config.load(path: sample.path) == Config())

        let text = try String(contentsOf: sample, encoding: .utf8)
        let keys = [
            "root", "settle_seconds", "rescan_seconds", "url", "cutoffs", "preconditioners", "prior", "prior_center", "sigma",
            "directions", "seed", "tolerance", "count", "threads", "lease_seconds", "max_attempts", "state_dir", "log_level",
        ]
        for key in keys {
            #expect(text.contains("\n\(key) = ") || text.contains("\n# \(key) = "), "the sample does not show \(key)")
        }
        for table in ["watch", "database", "estimate", "workers", "daemon"] {
            #expect(text.contains("\n[\(table)]\n"), "the sample has no [\(table)]")
        }
    }
}
