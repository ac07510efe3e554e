/// Paths of the repository's fixture files (real PyTorch / HF Trainer output) in `fixtures/`.
enum Fixtures {
    static let root: String = {
        var path = #filePath
        // …/Tests/EstimatorTests/Support/Fixtures.swift → …/fixtures
        for _ in 0..<4 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/fixtures"
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }
}
