import Config
import ArgumentParser
import Foundation
import Logging

/// `volumed serve`: the daemon (systemd `Type=notify`).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Watch the checkpoint folder, estimate every new checkpoint and record the results.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Folder to watch (overrides [watch] root).")
    var watch: String?

    @Flag(help: "Only claim and compute jobs (extra workers sharing a database; no watcher).")
    var workersOnly = false

    func run() async throws {
        let overrides: @Sendable (inout Config) -> Void = { [watch] config in
            if let watch { config.watch.root = watch }
        }
        var config = try database.loadConfig()
        overrides(&config)
        LogSetup.bootstrapOnce(level: config.daemon.logLevel)
        let runtime = DaemonRuntime(config: config, configPath: database.config, location: database.location(config),
                                    workersOnly: workersOnly, overrides: overrides)
        do {
            try await runtime.run()
        } catch {
            throw CommandError(error)
        }
    }
}

enum LogSetup {
    /// swift-log allows one bootstrap per process.
    static func bootstrapOnce(level: Logger.Level) {
        let environment = ProcessInfo.processInfo.environment
        LoggingSystem.bootstrap { label in
            VolumedLogHandler(label: label, style: .detect(environment: environment), logLevel: level)
        }
    }
}
