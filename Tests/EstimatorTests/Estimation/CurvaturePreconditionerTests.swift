import Testing
@testable import Estimator

/// A safetensors file of float32 tensors.
private func safetensorsFile(_ tensors: [(name: String, shape: [Int], values: [Float])]) -> [UInt8] {
    var offset = 0
    var entries: [String] = []
    for t in tensors {
        entries.append("\"\(t.name)\":{\"dtype\":\"F32\",\"shape\":\(t.shape),\"data_offsets\":[\(offset),\(offset + 4 * t.values.count)]}")
        offset += 4 * t.values.count
    }
    return safetensorsBytes(header: "{" + entries.joined(separator: ",") + "}", data: tensors.flatMap { littleEndianBytes($0.values) })
}

/// `fisher` and `hessian` end to end on the digits fixture, through `CheckpointEstimation`.
@Suite struct CurvaturePreconditionerTests {
    @Test func fisherAndHessianEstimateDigitsAndComputeCurvatureOnce() throws {
        var plan = EstimationPlan(preconditioners: [try PreconditionerSpec(parsing: "fisher"), try PreconditionerSpec(parsing: "hessian")])
        plan.settings.directions = 10
        plan.settings.cutoffs = [0.01, 0.1]
        let estimation = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-3000"), base: plan)
        let first = try estimation.run(threads: 2)
        let second = try estimation.reseeded(1).run(threads: 2)
        for (a, b) in zip(first, second) {
            guard case .estimated(let x) = a, case .estimated(let y) = b else {
                Issue.record("a curvature preconditioner did not run")
                continue
            }
            #expect(x.count == 2 && y.count == 2)
            for e in x + y {
                #expect(e.secondsPreconditioner > 0)
                #expect(e.aggregate.logVolume.map { $0.isFinite && $0 < 0 } == true)
            }
            // Every cutoff and the second seed report the one computation's wall time: it ran once.
            #expect(x[0].secondsPreconditioner == x[1].secondsPreconditioner)
            #expect(y[0].secondsPreconditioner == x[0].secondsPreconditioner)
            #expect(x[0].seed == 0 && y[0].seed == 1 && x[0].samples != y[0].samples)
        }
    }

    /// `fisher` on a language model: a Monte-Carlo diagonal whose relative standard error reaches
    /// the estimate and its JSON; `hessian` is skipped by the size limit, with D named.
    @Test func fisherRunsOnALanguageModelAndReportsItsStandardError() throws {
        var plan = EstimationPlan(preconditioners: [try PreconditionerSpec(parsing: "fisher:samples=2"), .none,
                                                    try PreconditionerSpec(parsing: "hessian")])
        plan.settings.directions = 2
        let estimation = try CheckpointEstimation(path: Fixtures.path("neox-tiny/checkpoint-60"), base: plan)
        let outcomes = try estimation.run(threads: 2)
        guard case .estimated(let fisher) = outcomes[0], case .estimated(let none) = outcomes[1] else {
            Issue.record("fisher or none did not run: \(outcomes)")
            return
        }
        let estimate = fisher[0]
        #expect(estimate.aggregate.logVolume.map { $0.isFinite && $0 < 0 } == true)
        #expect(estimate.secondsPreconditioner > 0)
        let rse = try #require(estimate.preconditionerRelativeStandardError)
        #expect(rse > 0 && rse < 1)
        #expect(estimate.json(includeSamples: false)["preconditioner_rse"]?.doubleValue == rse)
        #expect(none[0].preconditionerRelativeStandardError == nil)
        #expect(none[0].json(includeSamples: false)["preconditioner_rse"]?.isNull == true)
        guard case .skipped(let spec, let reason) = outcomes[2] else {
            Issue.record("hessian was not skipped")
            return
        }
        #expect(spec.kind == .hessian)
        #expect(reason.contains("D ≤ 20000") && reason.contains("D = 132864"))
    }

    /// Above the full matrix's size limit `hessian` is skipped with D and the limit named; the
    /// other preconditioners still run.
    @Test func hessianIsSkippedAboveTheSizeLimit() throws {
        let folder = try TemporaryDirectory()
        var random = TestRandom(seed: 101)
        func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float(0.1 * random.symmetric()) } }
        try folder.write("run/checkpoint-1/model.safetensors", safetensorsFile([
            ("0.weight", [101, 200], values(20_200)), ("0.bias", [101], values(101)),
            ("2.weight", [3, 101], values(303)), ("2.bias", [3], values(3)),
        ]))
        try folder.write("run/eval.safetensors", safetensorsFile([("inputs", [4, 200], values(800))]))
        try folder.write("run/volume.toml", "[model]\narchitecture = \"mlp\"\nactivation = \"tanh\"\n")
        var plan = EstimationPlan(preconditioners: [try PreconditionerSpec(parsing: "hessian"), .none])
        plan.settings.directions = 2
        let outcomes = try CheckpointEstimation(path: folder.path + "/run/checkpoint-1", base: plan).run(threads: 1)
        guard case .skipped(let spec, let reason) = outcomes[0] else {
            Issue.record("hessian was not skipped")
            return
        }
        #expect(spec.kind == .hessian)
        #expect(reason.contains("D ≤ 20000") && reason.contains("D = 20607"))
        guard case .estimated = outcomes[1] else {
            Issue.record("none did not run")
            return
        }
    }
}
