import Config
import ArgumentParser
import DB
import Foundation
import Logging

/// `volumed demo`: the daemon on its embedded PostgreSQL, watching `./demo/watch`, fed the
/// shipped example checkpoints one by one; prints results as they arrive until Ctrl-C.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the daemon on the shipped examples and print results as they arrive (Ctrl-C stops).")

    @Option(help: "Folder for the demo's database and watch folder (emptied first).")
    var directory = "demo"

    @Option(help: "Example runs to drop in.")
    var examples = "examples"

    @Option(help: "Seconds between dropped checkpoints.")
    var interval: Double = 3

    @Flag(help: "Show the daemon's log.")
    var verbose = false

    @Option(help: ArgumentHelp("Where the dashboard listens, or 'off'.", valueName: "host:port|off"))
    var http = ListenAddress.dashboardDefault.description

    func run() async throws {
        let dashboard = try HTTPOption.parse(http)
        let fm = FileManager.default
        guard fm.fileExists(atPath: examples) else {
            throw ValidationError("no examples folder '\(examples)' (run from the repository root, or pass --examples)")
        }
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        try? fm.removeItem(atPath: root)
        let watch = root + "/watch", state = root + "/state"
        try fm.createDirectory(atPath: watch, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: state, withIntermediateDirectories: true)

        var config = Config()
        config.watch.root = watch
        config.watch.settleSeconds = 1
        config.watch.rescanSeconds = 60
        config.daemon.stateDirectory = state
        config.http.listen = dashboard
        LogSetup.bootstrapOnce(level: verbose ? .info : .warning)
        let location = DatabaseLocation.embedded(stateDirectory: state)
        print("volumed demo — watching \(watch)")
        print("estimates: cutoff \(config.estimate.settings.cutoffs.map { format($0, 2) }.joined(separator: ", ")), preconditioners \(config.estimate.preconditioners.map(\.name).joined(separator: ", ")), \(config.estimate.settings.directions) directions")
        print("query the results with:  \(location.psqlCommand) -c 'SELECT * FROM volume_by_step'")
        if let dashboard { print("dashboard: http://\(dashboard)/") }
        print("")
        let logger = Logger(label: "volumed.demo")
        let feeder = DemoFeeder(examples: examples, watchRoot: watch, interval: .milliseconds(Int64(interval * 1000)), logger: logger)
        let runtime = DaemonRuntime(config: config, configPath: nil, location: location,
                                    extraServices: { database in [feeder, DemoPrinter(database: database, logger: logger)] })
        do {
            try await runtime.run()
        } catch {
            throw CommandError(error)
        }
        print("\nstopped; the demo's data stays in \(root) (the next `volumed demo` starts afresh)")
    }
}
