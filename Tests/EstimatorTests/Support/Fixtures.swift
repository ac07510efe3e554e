/// Paths of the fixture files copied into this test target (real PyTorch / HF Trainer output).
enum Fixtures {
    static let root: String = {
        var path = #filePath
        // …/Tests/EstimatorTests/Support/Fixtures.swift → …/Tests/EstimatorTests/Fixtures
        for _ in 0..<2 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path + "/Fixtures"
    }()

    static func path(_ relative: String) -> String { root + "/" + relative }
}
