import Foundation
import ProcessHarness
import Testing

/// `volumed llc` run as a binary on the digits fixture: one JSON object on stdout, its settings
/// resolved, and a table by default.
@Suite struct LLCCommandTests {
    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try VolumedProcess.executable())
        process.arguments = ["llc", ServeWorkspace.fixtures + "/checkpoint-3000", "--threads", "2", "--chains", "2", "--draws", "10"] + arguments
        process.environment = ServeDaemon.baseEnvironment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func printsOneJSONObjectWithTheResolvedSettings() throws {
        let (status, stdout) = try Self.run(["--json", "--seed", "3", "--params", "2.*"])
        #expect(status == 0, "\(stdout)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        let settings = try #require(json["settings"] as? [String: Any])
        #expect(settings["batch_size"] as? Int == 32)
        #expect(abs((settings["nbeta"] as? Double ?? 0) - 32 / log(32.0)) < 1e-9)
        #expect(json["dimension"] as? Int == 650)
        let chains = try #require(json["chains"] as? [[String: Any]])
        #expect(chains.count == 2)
        #expect(chains.allSatisfy { ($0["llc"] as? Double)?.isFinite == true && $0["divergence"] is NSNull })
        #expect((json["init_loss"] as? Double ?? 0) > 0)
    }

    @Test func printsATableByDefault() throws {
        let (status, stdout) = try Self.run([])
        #expect(status == 0, "\(stdout)")
        #expect(stdout.contains("nβ = 9.233 (B / ln B), B = 32"), "\(stdout)")
        #expect(stdout.contains("D = 4810 (all)"))
        #expect(stdout.contains("LLC "))
    }

    @Test func refusesANonPositiveStepSize() throws {
        let (status, _) = try Self.run(["--epsilon", "0"])
        #expect(status != 0)
    }
}
