import Base

/// devinterp 2.0.1's LLC on the repository's fixtures (`fixtures/llc-reference.json`, written by
/// `scripts/reference/`): each case's hyperparameters, its per-seed means and its seconds per
/// draw, for the agreement test and `volumed bench`. Paths are relative to the repository root.
public struct LLCReference: Sendable {
    public struct Case: Sendable {
        public let name: String
        public let architecture: String
        public let checkpoint: String
        public let eval: String
        public let settings: LLCSettings
        /// The mean LLC of each seed (over its chains).
        public let seedMeans: [Double]
        public let mean: Double
        public let standardError: Double
        public let secondsPerDraw: Double
    }

    public let devinterpVersion: String
    public let torchVersion: String
    public let threads: Int
    public let cases: [Case]

    /// Reads the file at `path`; throws `llc.reference` naming the file and what is wrong.
    public init(path: String) throws(EstimatorError) {
        func bad(_ what: String) -> EstimatorError { EstimatorError(code: "llc.reference", "\(path): \(what)") }
        let root: JSONValue
        do {
            root = try JSONValue.parse(try RegularFile.read(path, limit: 16 << 20))
        } catch {
            throw bad("\(error)")
        }
        devinterpVersion = root["devinterp_version"]?.stringValue ?? "?"
        torchVersion = root["torch_version"]?.stringValue ?? "?"
        threads = root["threads"]?.intValue ?? 0
        var cases: [Case] = []
        for entry in root["cases"]?.arrayValue ?? [] {
            guard let name = entry["name"]?.stringValue else { throw bad("a case has no name") }
            func number(_ key: String) throws(EstimatorError) -> Double {
                guard let v = entry[key]?.doubleValue else { throw bad("case \(name) has no number '\(key)'") }
                return v
            }
            func integer(_ key: String) throws(EstimatorError) -> Int {
                guard let v = entry[key]?.intValue else { throw bad("case \(name) has no integer '\(key)'") }
                return v
            }
            var s = LLCSettings()
            s.epsilon = try number("epsilon")
            s.gamma = try number("gamma")
            s.nbeta = entry["nbeta"]?.doubleValue
            s.chains = try integer("chains")
            s.draws = try integer("draws")
            s.burnIn = try integer("burn_in")
            s.batchSize = try integer("batch_size")
            let seeds = entry["seeds"]?.arrayValue ?? []
            cases.append(Case(name: name, architecture: entry["architecture"]?.stringValue ?? "?",
                              checkpoint: entry["checkpoint"]?.stringValue ?? "", eval: entry["eval"]?.stringValue ?? "",
                              settings: s, seedMeans: seeds.compactMap { $0["llc_mean"]?.doubleValue },
                              mean: try number("llc_mean"), standardError: try number("standard_error"),
                              secondsPerDraw: try number("seconds_per_draw")))
        }
        guard !cases.isEmpty else { throw bad("no cases") }
        self.cases = cases
    }

    public func find(_ name: String) -> Case? { cases.first { $0.name == name } }
}
