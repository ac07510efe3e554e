import Testing
@testable import Estimator

/// Our LLC against devinterp 2.0.1's on the same checkpoints with the same hyperparameters
/// (`fixtures/llc-reference.json`, ≥ 10 seeds a case): the means over seeds must agree within
/// 3 combined standard errors. The full check runs `LLCAgreementTests.seeds` seeds per case and
/// is behind `make llc-agreement` (LLC_AGREEMENT=1); the normal suite runs a smoke version.
@Suite struct LLCAgreementTests {
    static let seeds = 10
    static let repository = String(Fixtures.root.dropLast("/fixtures".count))
    static let referencePath = Fixtures.path("llc-reference.json")
    static let full = getenv("LLC_AGREEMENT").map { String(cString: $0) == "1" } ?? false

    static func reference() throws -> LLCReference {
        guard access(referencePath, F_OK) == 0 else {
            throw EstimatorError(code: "llc.reference", "\(referencePath) is missing: devinterp's reference numbers (scripts/reference/) must be committed for the LLC agreement check")
        }
        return try LLCReference(path: referencePath)
    }

    static func estimation(_ c: LLCReference.Case) throws -> CheckpointEstimation {
        let eval = repository + "/" + c.eval
        return try CheckpointEstimation(path: repository + "/" + c.checkpoint,
                                        evalData: EvalDataSpec(form: try EvalDataSpec.form(ofFile: eval), file: eval))
    }

    @Test(.enabled(if: full, "the full agreement check runs with `make llc-agreement`"))
    func ourMeanLLCAgreesWithDevinterpsWithinThreeStandardErrors() throws {
        let reference = try Self.reference()
        print("LLC agreement with devinterp \(reference.devinterpVersion) (torch \(reference.torchVersion)), \(Self.seeds) seeds a case")
        print("case            ours mean ± SE       devinterp mean ± SE    z")
        for c in reference.cases {
            let estimation = try Self.estimation(c)
            var means: [Double] = []
            for seed in 0..<Self.seeds {
                var settings = c.settings
                settings.seed = UInt64(seed)
                means.append(try estimation.llc(settings, threads: 2).mean)
            }
            let mean = means.reduce(0, +) / Double(means.count)
            let sd = (means.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(means.count - 1)).squareRoot()
            let se = sd / Double(means.count).squareRoot()
            let z = (mean - c.mean) / (se * se + c.standardError * c.standardError).squareRoot()
            print("\(c.name.padding(16))\(fixed(mean)) ± \(fixed(se))      \(fixed(c.mean)) ± \(fixed(c.standardError))      \(fixed(z))")
            #expect(abs(z) <= 3, "\(c.name): ours \(mean) ± \(se), devinterp \(c.mean) ± \(c.standardError), z = \(z)")
        }
    }

    /// Every reference case runs with its hyperparameters (one seed, few draws): a finite,
    /// positive LLC with the reference's batch size.
    @Test func everyReferenceCaseRuns() throws {
        let reference = try Self.reference()
        for c in reference.cases {
            var settings = c.settings
            settings.chains = 1
            settings.draws = min(settings.draws, 20)
            let estimate = try Self.estimation(c).llc(settings, threads: 2)
            #expect(estimate.mean.isFinite && estimate.mean > 0, "\(c.name): \(estimate.mean)")
            #expect(estimate.chains[0].divergence == nil, "\(c.name)")
        }
    }
}

private func fixed(_ x: Double) -> String {
    let scaled = (x * 1000).rounded() / 1000
    return "\(scaled)".padding(8)
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

#if canImport(Glibc)
import Glibc
#endif
