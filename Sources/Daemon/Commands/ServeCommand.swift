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

    @Flag(help: "Only claim and compute jobs (extra workers sharing a database; no watcher, no dashboard unless --http).")
    var workersOnly = false

    @Option(help: ArgumentHelp("Serve the dashboard and /metrics at host:port, or 'off' (overrides [http] listen).",
                               valueName: "host:port|off"))
    var http: String?

    func run() async throws {
        let dashboard = try http.map(HTTPOption.parse)
        let overrides: @Sendable (inout Config) -> Void = { [watch] config in
            if let watch { config.watch.root = watch }
            if let dashboard { config.http.listen = dashboard }
        }
        var config = try database.loadConfig()
        overrides(&config)
        LogSetup.bootstrapOnce(level: config.daemon.logLevel)
        let runtime = DaemonRuntime(config: config, configPath: database.config, location: database.location(config),
                                    workersOnly: workersOnly, overrides: overrides, httpFromCommandLine: http != nil)
        do {
            try await runtime.run()
        } catch {
            throw CommandError(error)
        }
    }
}

/// `--http host:port|off`.
enum HTTPOption {
    /// `.some(nil)` for `off`.
    static func parse(_ text: String) throws -> ListenAddress? {
        if text == "off" { return nil }
        do {
            return try ListenAddress(parsing: text)
        } catch {
            throw ValidationError("--http: \(error.reason) (got \"\(text)\"; e.g. 127.0.0.1:8321, [::1]:8321 or off)")
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
