@testable import Estimator
import Base

/// The reference implementation's numbers (`fixtures/reference.json`).
struct ReferenceResult {
    let checkpoint: String
    let preconditioner: String
    let cutoff: Double
    let directions: Int
    let seeds: Int
    let mean: Double
    let sd: Double
    let sigma: Double
    let secondsPerSeed: [Double]
    /// The seeds and each one's log-volume in nats, in the same order.
    let seedList: [Int]
    let perSeed: [Double]

    /// The results in `file` (relative to `fixtures/`): `reference.json`, `vision-reference.json`.
    static func all(file: String = "reference.json") throws -> [ReferenceResult] {
        let text = try SafeFileText.read(Fixtures.path(file))
        let root = try JSONValue.parse(text)
        return (root["results"]?.arrayValue ?? []).compactMap { r in
            guard let mean = r["mean_nats"]?.doubleValue, let sd = r["sd_nats"]?.doubleValue else { return nil }
            return ReferenceResult(
                checkpoint: r["checkpoint"]!.stringValue!, preconditioner: r["precond"]!.stringValue!,
                cutoff: r["cutoff"]!.doubleValue!, directions: r["k"]!.intValue!, seeds: r["seeds"]!.arrayValue!.count,
                mean: mean, sd: sd, sigma: r["sigma"]!.doubleValue!,
                secondsPerSeed: r["seconds_per_seed"]?.arrayValue?.compactMap(\.doubleValue) ?? [],
                seedList: r["seeds"]!.arrayValue!.compactMap(\.intValue),
                perSeed: r["log_vol_nats_per_seed"]?.arrayValue?.compactMap(\.doubleValue) ?? [])
        }
    }

    static func find(_ checkpoint: String, _ preconditioner: String, cutoff: Double = 0.01, file: String = "reference.json") throws -> ReferenceResult {
        guard let r = try all(file: file).first(where: { $0.checkpoint == checkpoint && $0.preconditioner == preconditioner && $0.cutoff == cutoff }) else {
            throw ReferenceMissing(checkpoint: checkpoint)
        }
        return r
    }

    /// The agreement rule (docs/estimator.md, "Correctness anchors"): |mean_ours − mean_ref| ≤ 3·√(sd_ours²/n + sd_ref²/n_ref).
    func agrees(withSeedEstimates estimates: [Double]) -> (agrees: Bool, difference: Double, allowed: Double) {
        let n = Double(estimates.count)
        let mean = estimates.reduce(0, +) / n
        let sd = (estimates.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot()
        let allowed = 3 * (sd * sd / n + self.sd * self.sd / Double(seeds)).squareRoot()
        return (abs(mean - self.mean) <= allowed, mean - self.mean, allowed)
    }
}

struct ReferenceMissing: Error { let checkpoint: String }

enum SafeFileText {
    static func read(_ path: String) throws -> String {
        let file = try MappedFile(path: path)
        return String(decoding: file.bytes, as: UTF8.self)
    }
}
