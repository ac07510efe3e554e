import Testing
@testable import Estimator

/// What a language model's KL evaluation costs and what an estimate holds (`volumed bench`
/// reports these next to its timings).
@Suite struct MemoryBudgetTests {
    /// 2·m·n·k per matrix product over the 8 × 64 eval tokens, plus causal attention
    /// (64·65/2 query–key pairs per row and head, for scores and for values), counted by hand.
    @Test func countsForwardPassFLOPs() throws {
        let neox = try LanguageModelFixtures.model("neox-tiny/checkpoint-60")
        let tokens = 512, pairs = 8 * 64 * 65 / 2
        let neoxLayer = 2 * tokens * 64 * (192 + 64 + 256 + 256) + 4 * pairs * 4 * 16
        #expect(neox.flopsPerForwardPass(rows: 8, length: 64) == 2 * neoxLayer + 2 * tokens * 64 * 256)
        #expect(neox.flopsPerForwardPass(rows: 8, length: 64) == 125_960_192)

        let llama = try LanguageModelFixtures.model("llama-tiny/checkpoint-150")
        let llamaLayer = 2 * tokens * 48 * (48 + 24 + 24 + 48 + 3 * 128) + 4 * pairs * 4 * 12
        #expect(llama.flopsPerForwardPass(rows: 8, length: 64) == 2 * llamaLayer + 2 * tokens * 48 * 256)
    }

    @Test func budgetOfALanguageModelTermByTerm() throws {
        let estimation = try CheckpointEstimation(path: Fixtures.path("neox-tiny/checkpoint-60"))
        #expect(estimation.flopsPerEvaluation == 125_960_192)
        let d = estimation.model.layout.count
        let none = estimation.memoryBudget(preconditioners: [.none], threads: 2)
        #expect(none.bytes(of: MemoryBudget.anchorWeights) == d * 4)
        #expect(none.bytes(of: MemoryBudget.preconditioner) == 0)
        // float32 p over 512 positions × 256 tokens, one float64 sum per position
        #expect(none.bytes(of: MemoryBudget.anchorDistribution) == 512 * 256 * 4 + 512 * 8)
        // Direction 0 on one worker of 2 lanes, then 2 workers of 1 lane: the larger of the two.
        // neox-tiny is under the streaming size, so each worker also holds its direction.
        let objective = try #require(estimation.objective as? LanguageModelObjective)
        let one = LanguageModelRayEvaluator(objective, lanes: 1).byteCount + d * 4
        let two = LanguageModelRayEvaluator(objective, lanes: 2).byteCount + d * 4
        #expect(d < VolumeEstimator.streamingDimension)
        #expect(none.bytes(of: MemoryBudget.workspace) == max(2 * one, two))
        #expect(none.terms.map(\.name) == [MemoryBudget.anchorWeights, MemoryBudget.preconditioner,
                                           MemoryBudget.anchorDistribution, MemoryBudget.workspace])
        #expect(none.total == none.terms.reduce(0) { $0 + $1.bytes })

        let adam = estimation.memoryBudget(preconditioners: [.none, .adam], threads: 2)
        #expect(adam.bytes(of: MemoryBudget.preconditioner) == d * 4)
        #expect(adam.total == none.total + d * 4)
        #expect(adam.description.hasPrefix("anchor weights "))
    }

    @Test func predictedEvaluatorBytesAreWhatAnEvaluatorAllocates() throws {
        let model = try LanguageModelFixtures.model("neox-tiny/checkpoint-30")
        let tokens = try model.tokenContext(try LanguageModelFixtures.evalTokens("neox-tiny/checkpoint-30"))
        let objective = try LanguageModelObjective(model: model, tokens: tokens, lanes: 1, sequencesPerChunk: 1)
        for lanes in [1, 3, 20] {
            #expect(ForwardState.byteCount(objective.pass, lanes: lanes) == LanguageModelRayEvaluator(objective, lanes: lanes).byteCount)
        }
    }

    @Test func torchDirectionsAddTheirBuffer() throws {
        var estimation = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-100"))
        #expect(estimation.flopsPerEvaluation == nil)
        let d = estimation.model.layout.count
        let philox = estimation.memoryBudget(preconditioners: [.none], threads: 2)
        var overrides = EstimateOverrides()
        overrides.directionStream = .torch
        estimation = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-100"), overrides: overrides)
        let torch = estimation.memoryBudget(preconditioners: [.none], threads: 2)
        let k = estimation.plan.settings.directions
        #expect(torch.bytes(of: MemoryBudget.torchDirections) == k * d * 4)
        // The digits MLP holds each worker's direction either way (it is under the streaming size).
        #expect(torch.bytes(of: MemoryBudget.workspace) == philox.bytes(of: MemoryBudget.workspace))
        #expect(torch.total == philox.total + k * d * 4)
    }

    @Test func torchDirectionsThatDoNotFitAreRefused() throws {
        let error = #expect(throws: EstimatorError.self) {
            try TorchDirections.requireFits(directions: 1000, dimension: 1_000_000, available: 1 << 30)
        }
        #expect(error?.code == "settings.torch_directions_too_large")
        #expect(error?.description.contains("1000 × 1000000") == true)
        #expect(error?.description.contains("4000000000 (3.7 GiB) bytes") == true)
        #expect(error?.description.contains("1073741824 bytes (1.0 GiB) are available") == true)
        try TorchDirections.requireFits(directions: 1000, dimension: 1_000, available: 1 << 30)
        try TorchDirections.requireFits(directions: 1000, dimension: 1_000_000, available: nil)
    }
}
