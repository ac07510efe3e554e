import Foundation
import ProcessHarness
import Testing

extension ServeEndToEnd {
    /// `volumed estimate`'s progress line is for terminals: with stderr a file (or with
    /// `--quiet`) nothing is written there, and stdout is the JSON alone.
    @Suite struct EstimateProgressLine {
        @Test(arguments: [false, true]) func nothingOnStderrWhenItIsNotATerminal(quiet: Bool) throws {
            let folder = try TemporaryDirectory()
            let stderrPath = folder.url("stderr").path
            let stdoutPath = folder.url("stdout").path
            FileManager.default.createFile(atPath: stderrPath, contents: nil)
            FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try VolumedProcess.executable())
            process.arguments = ["estimate", ServeWorkspace.fixtures + "/checkpoint-3000", "--json", "--directions", "8",
                                 "--threads", "1"] + (quiet ? ["--quiet"] : [])
            process.environment = ServeDaemon.baseEnvironment
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            let stderr = try String(contentsOfFile: stderrPath, encoding: .utf8)
            #expect(stderr.isEmpty, "stderr: \(stderr)")
            let stdout = try String(contentsOfFile: stdoutPath, encoding: .utf8)
            let json = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
            #expect(json?["results"] != nil, "stdout: \(stdout)")
        }
    }
}
