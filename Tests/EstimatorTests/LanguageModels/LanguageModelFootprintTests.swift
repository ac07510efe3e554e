import Testing
@testable import Estimator

/// What a language model's KL evaluation costs (`volumed bench` reports these next to its timings).
@Suite struct LanguageModelFootprintTests {
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

    @Test func footprintOfALanguageModelsEvaluation() throws {
        let estimation = try CheckpointEstimation(path: Fixtures.path("neox-tiny/checkpoint-60"))
        let footprint = try #require(estimation.languageModelFootprint)
        #expect(footprint.flopsPerEvaluation == 125_960_192)
        // float32 p over 512 positions × 256 tokens, one float64 sum per position
        #expect(footprint.anchorDistributionBytes == 512 * 256 * 4 + 512 * 8)
        // An evaluator holds one chunk's activations, not the whole batch's.
        #expect(footprint.evaluatorBytes > 0 && footprint.evaluatorBytes < footprint.batchActivationBytes)
    }

    @Test func anMLPHasNoLanguageModelFootprint() throws {
        #expect(try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-100")).languageModelFootprint == nil)
    }
}
