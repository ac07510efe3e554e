import ArgumentParser
import DB
import Estimator
import Foundation

/// `volumed report`: log10 volume against step per run, cutoff and preconditioner, as a
/// table and optionally an SVG plot.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show log10 volume against step per run and preconditioner, as a table and an SVG plot.")

    @OptionGroup var database: DatabaseOptions

    @Option(name: .customLong("run"), help: ArgumentHelp("Only this run (by name); repeat for several.", valueName: "name"))
    var runs: [String] = []

    @Option(help: "Only this KL cutoff in nats (e.g. 0.01).")
    var cutoff: Double?

    @Option(help: "Only this preconditioner: a name (every parameter set) or name:key=value,… (that set).")
    var preconditioner: String?

    @Option(help: ArgumentHelp("Also draw the series as an SVG plot into this file.", valueName: "file"))
    var svg: String?

    func validate() throws {
        if let cutoff, !(cutoff > 0 && cutoff.isFinite) { throw ValidationError("--cutoff must be a positive number") }
        _ = try filter()
    }

    private func filter() throws -> VolumeReport.Filter {
        do {
            return try VolumeReport.Filter(runs: runs, cutoff: cutoff, preconditioner: preconditioner)
        } catch {
            throw ValidationError("--preconditioner: \(error.detail)")
        }
    }

    func run() async throws {
        let filter = try filter()
        let config = try database.loadConfig()
        let report = try await database.withDatabase(config) { _, connection in
            try await VolumeReport.load(from: ResultStore(connection: connection), filter: filter)
        }
        for line in report.tableLines { print(line) }
        guard let path = svg else { return }
        let written: Bool
        do {
            written = try report.writePlot(to: path)
        } catch {
            throw CommandError(error)
        }
        guard written else {
            print("no plot written")
            return
        }
        print("")
        print("plot written to \(path)")
    }
}
