import Testing
@testable import Estimator

/// Correctness anchor (c) (docs/estimator.md, "Correctness anchors"): on the digits fixture our seed means agree with the
/// reference implementation's (compared at its k = 100, cutoff 1e-2, 10 seeds).
@Suite struct ReferenceAgreementTests {
    static let seeds = 0..<10

    static func seedEstimates(_ path: String, _ spec: PreconditionerSpec) throws -> [Double] {
        var estimates: [Double] = []
        for seed in seeds {
            var plan = EstimationPlan(preconditioners: [spec])
            plan.settings.seed = UInt64(seed)
            let estimation = try CheckpointEstimation(path: Fixtures.path(path), base: plan)
            let outcomes = try estimation.run(threads: 2)
            guard case .estimated(let results) = outcomes[0], let logVolume = results[0].aggregate.logVolume else {
                Issue.record("\(path) \(spec): no estimate")
                return []
            }
            estimates.append(logVolume)
        }
        return estimates
    }

    @Test(arguments: [("digits/checkpoint-100", "none"), ("digits/checkpoint-100", "adam"),
                      ("digits/checkpoint-3000", "none"), ("digits/checkpoint-3000", "adam")])
    func seedMeanAgreesWithTheReference(checkpoint: String, preconditioner: String) throws {
        let reference = try ReferenceResult.find(checkpoint, preconditioner)
        #expect(reference.directions == 100)
        let ours = try Self.seedEstimates(checkpoint, try PreconditionerSpec(parsing: preconditioner))
        let check = reference.agrees(withSeedEstimates: ours)
        #expect(check.agrees, "mean differs by \(check.difference) nats; allowed \(check.allowed)")
    }

    @Test func pytorchBinCopyGivesIdenticalNumbers() throws {
        for spec in [PreconditionerSpec.none, .adam] {
            var plan = EstimationPlan(preconditioners: [spec])
            plan.settings.directions = 30
            let safetensors = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-100"), base: plan).run(threads: 2)
            let bin = try CheckpointEstimation(path: Fixtures.path("digits-legacy/checkpoint-100"), base: plan).run(threads: 2)
            guard case .estimated(let a) = safetensors[0], case .estimated(let b) = bin[0] else {
                Issue.record("no estimate for \(spec)")
                continue
            }
            #expect(a[0].samples == b[0].samples)
            #expect(a[0].aggregate.logVolume == b[0].aggregate.logVolume)
        }
    }

    @Test func untrainedCheckpointGetsAFiniteEstimateAndAClearAdamSkip() throws {
        let outcomes = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-0")).run(threads: 2)
        guard case .estimated(let none) = outcomes[0] else {
            Issue.record("none did not run")
            return
        }
        let logVolume = try #require(none[0].aggregate.logVolume)
        #expect(logVolume.isFinite && logVolume < 0)
        #expect(none[0].samples.allSatisfy { $0.logEstimate.isFinite && $0.radius.isFinite })
        guard case .skipped(let spec, let reason) = outcomes[1] else {
            Issue.record("adam was not skipped")
            return
        }
        #expect(spec == .adam)
        #expect(reason.contains("no Adam state"))
    }
}
