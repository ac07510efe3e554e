import ArgumentParser

@main
struct Volumed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volumed",
        abstract: "Estimates the KL local volume of neural-network checkpoints and records it in PostgreSQL.",
        subcommands: [EstimateCommand.self, MigrateCommand.self, DBCommand.self, StatusCommand.self, RetryCommand.self, ReportCommand.self, BenchCommand.self]
    )
}
