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

        /// On a terminal (a pseudo-terminal from `script`) the line is drawn, also with `--json`,
        /// and cleared at the end; `--quiet` draws nothing.
        @Test(arguments: [false, true]) func onATerminalTheLineIsDrawnUnlessQuiet(quiet: Bool) throws {
            let command = [try VolumedProcess.executable(), "estimate", ServeWorkspace.fixtures + "/checkpoint-3000", "--json",
                           "--directions", "8", "--threads", "1", "--preconditioner", "none"] + (quiet ? ["--quiet"] : [])
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            process.arguments = ["-qec", command.joined(separator: " "), "/dev/null"]
            process.environment = ServeDaemon.baseEnvironment
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(output)")
            let drawn = output.contains("\r\u{1B}[Knone: 8/8 directions, ") && output.contains(" KL evaluations, ")
            #expect(drawn == !quiet, "\(output)")
            #expect(output.contains("\"results\""), "the JSON is printed either way: \(output)")
        }
    }
}
