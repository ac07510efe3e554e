import ArgumentParser

@main
struct Volumed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volumed",
        abstract: "Estimates the KL local volume of neural-network checkpoints and records it in PostgreSQL.",
        subcommands: [
            ServeCommand.self, DemoCommand.self, EstimateCommand.self, LLCCommand.self, StatusCommand.self, ReportCommand.self,
            RetryCommand.self, MigrateCommand.self, DBCommand.self, BenchCommand.self,
        ]
    )
}
