import Benchmarks

/// Paths in the repository's `fixtures/`, found the way `volumed bench` falls back to it.
enum Fixtures {
    static func path(_ relative: String) -> String { RepositoryFolder.sourceTree + "/fixtures/" + relative }
}
