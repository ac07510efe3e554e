import Foundation
import PackagePlugin

/// Compiles the package's top-level `migrations/*.sql` into the DB module (as
/// `Migration.embedded`), so `volumed` is one self-contained file.
///
/// The DB target sees the folder through the symlink `Sources/DB/Migrations`: SwiftPM replans
/// (and re-runs this plugin) when a target's files are added or removed, which it does not do
/// for a folder outside every target. Each file is an input, so an edit regenerates the source.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let files = (target.sourceModule?.sourceFiles(withSuffix: "sql").map(\.url) ?? [])
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) migrations into \(target.name)",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            ),
        ]
    }
}
