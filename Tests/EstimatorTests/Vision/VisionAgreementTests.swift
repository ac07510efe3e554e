#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Estimator

/// Our seed means against the paper's implementation on the vision fixtures
/// (`fixtures/vision-reference.json`: tyche's estimator core on CPU over the transformers models,
/// cutoff 1e-2, 128 eval images). Every case must agree within 3 combined standard errors, with
/// as many of our seeds as the reference has (k as the reference). The full check is behind
/// `make vision-agreement` (VISION_AGREEMENT=1); the normal suite runs one small case.
@Suite struct VisionAgreementTests {
    static let full = getenv("VISION_AGREEMENT").map { String(cString: $0) == "1" } ?? false
    static let eval = Fixtures.path("vision/digits32_eval.safetensors")

    static func seedEstimates(_ reference: ReferenceResult, seeds: Int) throws -> [Double] {
        let spec = try PreconditionerSpec(parsing: reference.preconditioner)
        var estimates: [Double] = []
        for seed in 0..<seeds {
            var plan = EstimationPlan(preconditioners: [spec])
            plan.settings.seed = UInt64(seed)
            plan.settings.directions = reference.directions
            plan.settings.cutoffs = [reference.cutoff]
            let estimation = try CheckpointEstimation(path: Fixtures.path(reference.checkpoint), base: plan,
                                                      evalData: EvalDataSpec(form: try EvalDataSpec.form(ofFile: eval), file: eval))
            guard case .estimated(let results) = try estimation.run(threads: 2)[0], let logVolume = results[0].aggregate.logVolume else {
                Issue.record("\(reference.checkpoint) \(reference.preconditioner): no estimate")
                return []
            }
            estimates.append(logVolume)
        }
        return estimates
    }

    static func check(_ reference: ReferenceResult, seeds: Int) throws -> Bool {
        let ours = try seedEstimates(reference, seeds: seeds)
        guard ours.count == seeds else { return false }
        let check = reference.agrees(withSeedEstimates: ours)
        let mean = ours.reduce(0, +) / Double(ours.count)
        let name = "\(reference.checkpoint.dropFirst("vision/".count)) \(reference.preconditioner)"
        print(name.padding(toLength: 46, withPad: " ", startingAt: 0),
              "ours \(Int(mean.rounded())) (\(seeds) seeds)  tyche \(Int(reference.mean.rounded())) (\(reference.seeds))",
              " difference \(Int(check.difference.rounded())), allowed \(Int(check.allowed.rounded()))", check.agrees ? "ok" : "DISAGREES")
        return check.agrees
    }

    @Test(.enabled(if: full, "the full agreement check runs with `make vision-agreement`"))
    func everySeedMeanAgreesWithTycheWithinThreeStandardErrors() throws {
        let references = try ReferenceResult.all(file: "vision-reference.json")
        #expect(references.count >= 11)
        for reference in references {
            #expect(try Self.check(reference, seeds: max(reference.seeds, 5)), "\(reference.checkpoint) \(reference.preconditioner)")
        }
    }

    @Test func smallConvNeXtV2SeedMeanAgreesWithTyche() throws {
        let reference = try ReferenceResult.find("vision/convnextv2-small/checkpoint-240", "none", file: "vision-reference.json")
        #expect(reference.directions == 20)
        #expect(try Self.check(reference, seeds: 5))
    }
}
