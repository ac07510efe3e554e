import Base
import Foundation
import ProcessHarness

/// Prometheus's own checker of the text exposition format, `promtool check metrics` from
/// Debian's `prometheus` package: a parser that is not ours. It exits 0 when the text is
/// clean, 1 when it does not parse and 3 when it parses but breaks a lint rule (a counter
/// without `_total`, a metric without HELP, …); the tests count both as failures.
enum Promtool {
    static func executable() throws -> String {
        try installedProgram("promtool", package: "prometheus")
    }

    /// Runs `promtool check metrics` on `text` and returns how it ended and what it printed
    /// (nothing, when the text is clean). `folder` holds the input and output files.
    static func checkMetrics(_ text: String, in folder: TemporaryDirectory, timeout: Duration = .seconds(30)) async throws
        -> (termination: Termination, output: String)
    {
        let promtool = try executable()
        let input = try folder.write("metrics-\(UInt32.random(in: 0...UInt32.max)).txt", text: text)
        // promtool reads the metrics from stdin; ChildProcess gives its children /dev/null
        // there, so a shell redirects the file.
        let process = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "exec \"$0\" check metrics < \"$1\"", promtool, input],
            environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"], logPath: input + ".promtool")
        guard let termination = await process.waitForExit(timeout: timeout) else {
            process.send(SIGKILL)
            throw HarnessError("promtool check metrics did not finish in \(timeout)")
        }
        return (termination, process.log)
    }
}

/// The samples of a Prometheus text exposition, enough to read a counter.
struct MetricSamples {
    /// Each sample line's series (name and labels as written) and value.
    let samples: [(series: String, value: Double)]

    init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { line in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
            else { return nil }
            return (String(line[..<space]), value)
        }
    }

    /// The sum of `name`'s samples over all label sets; nil when it has none.
    func total(_ name: String) -> Double? {
        let values = samples.filter { $0.series == name || $0.series.hasPrefix(name + "{") }.map(\.value)
        return values.isEmpty ? nil : values.reduce(0, +)
    }
}
