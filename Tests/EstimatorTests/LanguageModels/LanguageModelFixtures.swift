import Testing
@testable import Estimator

/// The HF Trainer language-model fixtures: checkpoints, eval tokens and PyTorch's logits.
enum LanguageModelFixtures {
    static let checkpoints = ["neox-tiny/checkpoint-30", "neox-tiny/checkpoint-60", "gpt2-tiny/checkpoint-150", "llama-tiny/checkpoint-150"]

    static func model(_ checkpoint: String) throws -> LanguageModel {
        let folder = try CheckpointFolder(path: Fixtures.path(checkpoint))
        return try #require(try ModelLoader.load(folder, manifest: nil) as? LanguageModel)
    }

    static func evalTokens(_ checkpoint: String) throws -> EvalData {
        let run = checkpoint.split(separator: "/")[0]
        return try EvalDataFile(path: Fixtures.path("\(run)/eval_tokens.safetensors")).data
    }

    /// The first two eval rows and PyTorch's float32 logits for them, [2, T, 256].
    static func reference(_ checkpoint: String) throws -> (ids: Tensor<Int32>, logits: [Float]) {
        let parts = checkpoint.split(separator: "/")
        let file = try SafeTensorsFile(path: Fixtures.path("\(parts[0])/reference/\(parts[1]).logits.safetensors"))
        let ids = try file.tensor("input_ids")
        let values = try #require(ids.integers())
        return (Tensor(shape: ids.shape, scalars: values.map { Int32($0) }), try file.tensor("logits").floats())
    }

    /// A unit direction from the estimator's own sampler, in a buffer that outlives the
    /// evaluator's use of it (`setDirection` keeps the pointer); the caller deallocates it.
    static func direction(dimension: Int, seed: UInt64, index: Int) -> UnsafeMutableBufferPointer<Float> {
        let direction = UnsafeMutableBufferPointer<Float>.allocate(capacity: dimension)
        DirectionSampler(seed: seed, dimension: dimension).unitDirection(index, into: direction)
        return direction
    }
}
