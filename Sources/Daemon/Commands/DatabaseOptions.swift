import Config
import ArgumentParser
import DB
import Foundation

/// Options shared by every command that reads the configuration or opens the database.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Configuration file (default: /etc/volumed/volumed.toml if it exists).")
    var config: String?

    @Option(help: "PostgreSQL URL or connection string (overrides VOLUMED_DATABASE_URL and [database] url).")
    var databaseURL: String?

    @Option(help: "State directory for the embedded database (overrides [daemon] state_dir and $STATE_DIRECTORY).")
    var stateDir: String?

    func loadConfig() throws -> Config {
        do {
            return try Config.load(path: config)
        } catch {
            throw CommandError(error)
        }
    }

    func location(_ config: Config) -> DatabaseLocation {
        let environment = ProcessInfo.processInfo.environment
        let state = Config.stateDirectory(flag: stateDir, configured: config.daemon.stateDirectory, environment: environment)
        return DatabaseLocation.resolve(commandLine: databaseURL, environment: environment,
                                        configURL: config.database.url, stateDirectory: state)
    }

    /// Opens the database (starting or adopting the embedded cluster) and applies migrations.
    func open(_ config: Config, migrate: Bool = true) async throws -> (Database, Connection) {
        let database: Database
        do {
            database = try await Database.open(location(config))
        } catch {
            throw CommandError(error)
        }
        do {
            let connection = try await database.connect()
            if migrate { try await Migrator().migrate(connection) }
            return (database, connection)
        } catch {
            try? await database.close()
            throw CommandError(error)
        }
    }
}

extension DatabaseOptions {
    /// Runs `body` with an open, migrated database and closes it (stopping the embedded
    /// cluster if this process started it) whatever happens.
    func withDatabase<T: Sendable>(_ config: Config, migrate: Bool = true,
                                   _ body: (Database, Connection) async throws -> T) async throws -> T {
        let (database, connection) = try await open(config, migrate: migrate)
        do {
            let result = try await body(database, connection)
            await connection.close()
            try await database.close()
            return result
        } catch {
            await connection.close()
            try? await database.close()
            throw error is CommandError ? error : CommandError(error)
        }
    }
}

/// `volumed migrate`: applies the bundled migrations and lists the schema's state.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the database migrations (they also run at start-up of serve).")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let config = try database.loadConfig()
        try await database.withDatabase(config, migrate: false) { _, connection in
            let applied = try await Migrator().migrate(connection)
            for m in try await Migrator().status(connection) {
                let mark = applied.contains { $0.version == m.version } ? "applied now" : (m.appliedAt == nil ? "pending" : "applied")
                print("\(m.name)  \(mark)")
            }
            print(applied.isEmpty ? "schema is up to date" : "applied \(applied.count) migration(s)")
        }
    }
}

/// `volumed db url`: how to reach the database with psql.
struct DBCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Database helpers.", subcommands: [URL.self])

    struct URL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "url", abstract: "Print the psql command that opens volumed's database (no password).")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let config = try database.loadConfig()
            print(database.location(config).psqlCommand)
        }
    }
}
