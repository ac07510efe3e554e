import Base
import Foundation
import Testing
@testable import Estimator

/// Checkpoint folders built in temp dirs from the fixture files, with edited configs, tensors
/// and shard indexes.
@Suite struct LanguageModelLoadingTests {
    static let neox = "neox-tiny/checkpoint-30"

    /// The fixture's tensors, possibly edited, as safetensors bytes.
    static func safetensors(_ tensors: [(name: String, shape: [Int], values: [Float])]) -> [UInt8] {
        var header: [String] = []
        var data: [UInt8] = []
        for t in tensors {
            let bytes = littleEndianBytes(t.values)
            header.append("\"\(t.name)\":{\"dtype\":\"F32\",\"shape\":\(t.shape),\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
            data += bytes
        }
        return safetensorsBytes(header: "{" + header.joined(separator: ",") + "}", data: data)
    }

    static func fixtureTensors(_ checkpoint: String) throws -> [(name: String, shape: [Int], values: [Float])] {
        let file = try SafeTensorsFile(path: Fixtures.path(checkpoint + "/model.safetensors"))
        return try file.tensorNames.map { name in
            let t = try file.tensor(name)
            return (name, t.shape, t.floats())
        }
    }

    static func config(_ checkpoint: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(checkpoint + "/config.json")))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A checkpoint folder `checkpoint-1` in `dir` with the given config and weights.
    @discardableResult
    static func folder(in dir: TemporaryDirectory, config: [String: Any], weights: [UInt8]) throws -> String {
        let path = try dir.makeFolder("checkpoint-1")
        try dir.write("checkpoint-1/config.json", try JSONSerialization.data(withJSONObject: config).map { $0 })
        try dir.write("checkpoint-1/model.safetensors", weights)
        return path
    }

    static func load(_ path: String) throws -> any Model {
        try ModelLoader.load(try CheckpointFolder(path: path), manifest: nil)
    }

    static func loadError(config: [String: Any], tensors: [(name: String, shape: [Int], values: [Float])]) throws -> EstimatorError? {
        let dir = try TemporaryDirectory()
        let path = try folder(in: dir, config: config, weights: safetensors(tensors))
        return #expect(throws: EstimatorError.self) { try load(path) }
    }

    // MARK: Layouts

    /// named_parameters() order, LayerNorm membership and tied embeddings as the Adam state expects.
    @Test func layoutsEqualTheTrainersParameterOrder() throws {
        #expect(try LanguageModelFixtures.model("neox-tiny/checkpoint-30").layout == FixtureLayouts.neox)
        #expect(try LanguageModelFixtures.model("neox-tiny/checkpoint-60").layout == FixtureLayouts.neox)
        let gpt2 = try LanguageModelFixtures.model("gpt2-tiny/checkpoint-150")
        #expect(gpt2.layout == FixtureLayouts.gpt2())
        #expect(gpt2.layout.count == 75_072)
        #expect(gpt2.layout["lm_head.weight"] == nil)
        #expect(gpt2.vocabularySize == 256 && gpt2.maxPositions == 128)
        let llama = try LanguageModelFixtures.model("llama-tiny/checkpoint-150")
        #expect(llama.layout == FixtureLayouts.llama)
        #expect(llama.layout.parameters.allSatisfy { !$0.inLayerNormModule })
        #expect(llama.maxPositions == nil)
    }

    @Test(arguments: LanguageModelFixtures.checkpoints)
    func adamStateMapsOntoTheModelsLayout(checkpoint: String) throws {
        let model = try LanguageModelFixtures.model(checkpoint)
        let moments = try OptimizerState(path: Fixtures.path(checkpoint + "/optimizer.pt")).moments(for: model.layout)
        #expect(moments.expAvgSq.count == model.layout.count)
        #expect(moments.expAvgSq.allSatisfy { $0 >= 0 })
        #expect(moments.expAvgSq.contains { $0 > 0 })
    }

    @Test func adamMomentsLandOnTheRightParameters() throws {
        let neox = try LanguageModelFixtures.model("neox-tiny/checkpoint-30")
        let moments = try OptimizerState(path: Fixtures.path("neox-tiny/checkpoint-30/optimizer.pt")).moments(for: neox.layout)
        let head = try #require(neox.layout["embed_out.weight"])
        #expect(moments.expAvgSq[head.offset] == 4.048883184282204e-08)
        let norm = try #require(neox.layout["gpt_neox.layers.0.input_layernorm.weight"])
        #expect(moments.expAvgSq[norm.offset] == 6.552909603829704e-11)

        let gpt2 = try LanguageModelFixtures.model("gpt2-tiny/checkpoint-150")
        let gpt2Moments = try OptimizerState(path: Fixtures.path("gpt2-tiny/checkpoint-150/optimizer.pt")).moments(for: gpt2.layout)
        let ln = try #require(gpt2.layout["transformer.h.0.ln_1.bias"])
        #expect(gpt2Moments.expAvg[ln.offset] == 9.383755968883634e-05)

        let llama = try LanguageModelFixtures.model("llama-tiny/checkpoint-150")
        let llamaMoments = try OptimizerState(path: Fixtures.path("llama-tiny/checkpoint-150/optimizer.pt")).moments(for: llama.layout)
        let finalNorm = try #require(llama.layout["model.norm.weight"])
        #expect(llamaMoments.expAvgSq[finalNorm.offset + 1] == 5.0684859161265194e-05)
    }

    // MARK: Config variants

    /// Older transformers wrote top-level `rotary_pct` / `rotary_emb_base` and no `rope_parameters`.
    @Test func readsLegacyRotaryKeys() throws {
        var config = try Self.config(Self.neox)
        config.removeValue(forKey: "rope_parameters")
        config["rotary_pct"] = 0.25
        config["rotary_emb_base"] = 10000
        let dir = try TemporaryDirectory()
        let path = try Self.folder(in: dir, config: config, weights: try readBytes(Fixtures.path(Self.neox + "/model.safetensors")))
        let model = try #require(try Self.load(path) as? LanguageModel)
        let (ids, reference) = try LanguageModelFixtures.reference(Self.neox)
        let logits = try model.logits(ids: ids, theta: model.anchor)
        #expect(zip(logits, reference).map { abs($0 - $1) }.max()! < 1e-4)

        config["rope_parameters"] = ["partial_rotary_factor": 0.5, "rope_theta": 10000.0, "rope_type": "default"]
        let error = try Self.loadError(config: config, tensors: try Self.fixtureTensors(Self.neox))
        #expect(error?.code == "model.config")
        #expect(error?.description.contains("'rope_parameters.partial_rotary_factor' = 0.5 contradicts 'rotary_pct' = 0.25") == true)
    }

    /// transformers 5 may name the NeoX head `lm_head.weight`; the file name is kept in the layout.
    @Test func acceptsNeoXHeadUnderEitherName() throws {
        let tensors = try Self.fixtureTensors(Self.neox).map { t in
            (name: t.name == "embed_out.weight" ? "lm_head.weight" : t.name, shape: t.shape, values: t.values)
        }
        let dir = try TemporaryDirectory()
        let path = try Self.folder(in: dir, config: try Self.config(Self.neox), weights: Self.safetensors(tensors))
        let model = try #require(try Self.load(path) as? LanguageModel)
        #expect(model.layout.parameters.last?.name == "lm_head.weight")
        #expect(model.layout.count == FixtureLayouts.neox.count)
    }

    /// Weights saved from the bare base model carry no `gpt_neox.` prefix.
    @Test func acceptsTensorsWithoutTheBaseModelPrefix() throws {
        let tensors = try Self.fixtureTensors(Self.neox).map { t in
            (name: t.name.hasPrefix("gpt_neox.") ? String(t.name.dropFirst(9)) : t.name, shape: t.shape, values: t.values)
        }
        let dir = try TemporaryDirectory()
        let path = try Self.folder(in: dir, config: try Self.config(Self.neox), weights: Self.safetensors(tensors))
        let model = try #require(try Self.load(path) as? LanguageModel)
        #expect(model.layout == FixtureLayouts.neox)
        #expect(model.anchor == (try LanguageModelFixtures.model(Self.neox).anchor))
    }

    @Test func loadsShardedCheckpoint() throws {
        let tensors = try Self.fixtureTensors(Self.neox)
        let (first, second) = (Array(tensors.prefix(10)), Array(tensors.dropFirst(10)))
        let dir = try TemporaryDirectory()
        let path = try dir.makeFolder("checkpoint-1")
        try dir.write("checkpoint-1/config.json", try JSONSerialization.data(withJSONObject: try Self.config(Self.neox)).map { $0 })
        try dir.write("checkpoint-1/model-00001-of-00002.safetensors", Self.safetensors(first))
        try dir.write("checkpoint-1/model-00002-of-00002.safetensors", Self.safetensors(second))
        let map = first.map { "\"\($0.name)\": \"model-00001-of-00002.safetensors\"" } + second.map { "\"\($0.name)\": \"model-00002-of-00002.safetensors\"" }
        try dir.write("checkpoint-1/model.safetensors.index.json", "{\"weight_map\": {\(map.joined(separator: ", "))}}")
        let model = try #require(try Self.load(path) as? LanguageModel)
        #expect(model.anchor == (try LanguageModelFixtures.model(Self.neox).anchor))

        // An index that points outside the checkpoint folder.
        try dir.write("checkpoint-1/model.safetensors.index.json", "{\"weight_map\": {\"embed_out.weight\": \"../model-00001-of-00002.safetensors\"}}")
        let error = #expect(throws: CheckpointError.self) { try Self.load(path) }
        #expect(error?.code == "checkpoint.bad_shard")
    }

    // MARK: Bad input

    @Test func refusesUnknownModelType() throws {
        var config = try Self.config(Self.neox)
        config["model_type"] = "mamba"
        let error = try Self.loadError(config: config, tensors: try Self.fixtureTensors(Self.neox))
        #expect(error?.code == "model.unknown_architecture")
        #expect(error?.description.contains("unsupported architecture 'mamba' (from config.json model_type; supported: mlp, gpt_neox, gpt2, llama, convnextv2, convnext, resnet)") == true)
    }

    @Test func namesAMissingTensor() throws {
        let tensors = try Self.fixtureTensors(Self.neox).filter { $0.name != "gpt_neox.layers.1.mlp.dense_4h_to_h.weight" }
        let error = try Self.loadError(config: try Self.config(Self.neox), tensors: tensors)
        #expect(error?.code == "model.missing_tensor")
        #expect(error?.description.hasSuffix("model.safetensors: no tensor 'gpt_neox.layers.1.mlp.dense_4h_to_h.weight' (the GPT-NeoX model needs it, shape [64, 256])") == true)
    }

    @Test func namesATensorOfTheWrongShape() throws {
        let tensors = try Self.fixtureTensors(Self.neox).map { t in
            t.name == "gpt_neox.layers.0.attention.dense.weight" ? (name: t.name, shape: [64, 32], values: Array(t.values.prefix(2048))) : t
        }
        let error = try Self.loadError(config: try Self.config(Self.neox), tensors: tensors)
        #expect(error?.code == "model.shape")
        #expect(error?.description.hasSuffix("model.safetensors: tensor 'gpt_neox.layers.0.attention.dense.weight' has shape [64, 32], but config.json implies [64, 64]") == true)

        // A config that disagrees with the weights is the same error.
        var config = try Self.config("llama-tiny/checkpoint-150")
        config["num_key_value_heads"] = 4
        let llama = try Self.loadError(config: config, tensors: try Self.fixtureTensors("llama-tiny/checkpoint-150"))
        #expect(llama?.code == "model.shape")
        #expect(llama?.description.contains("'model.layers.0.self_attn.k_proj.weight' has shape [24, 48], but config.json implies [48, 48]") == true)
    }

    @Test func refusesUnsupportedConfigValues() throws {
        let tensors = try Self.fixtureTensors(Self.neox)
        var scaled = try Self.config(Self.neox)
        scaled["rope_parameters"] = ["partial_rotary_factor": 0.25, "rope_theta": 10000.0, "rope_type": "linear", "factor": 2.0]
        #expect(try Self.loadError(config: scaled, tensors: tensors)?.code == "model.unsupported")

        var activation = try Self.config(Self.neox)
        activation["hidden_act"] = "mish"
        let unknown = try Self.loadError(config: activation, tensors: tensors)
        #expect(unknown?.code == "model.unknown_activation")
        #expect(unknown?.description.contains("'hidden_act' is 'mish'") == true)

        var missing = try Self.config(Self.neox)
        missing.removeValue(forKey: "hidden_size")
        let noKey = try Self.loadError(config: missing, tensors: tensors)
        #expect(noKey?.code == "model.config")
        #expect(noKey?.description.hasSuffix("config.json: 'hidden_size' is missing") == true)

        var mistyped = try Self.config(Self.neox)
        mistyped["use_parallel_residual"] = "yes"
        #expect(try Self.loadError(config: mistyped, tensors: tensors)?.code == "model.config")
    }

    @Test func refusesNonFiniteWeights() throws {
        let tensors = try Self.fixtureTensors(Self.neox).map { t in
            t.name == "gpt_neox.final_layer_norm.bias" ? (name: t.name, shape: t.shape, values: [.nan] + t.values.dropFirst()) : t
        }
        let error = try Self.loadError(config: try Self.config(Self.neox), tensors: tensors)
        #expect(error?.code == "model.nonfinite_weights")
    }

    @Test func checksEvalTokensAgainstTheModel() throws {
        let gpt2 = try LanguageModelFixtures.model("gpt2-tiny/checkpoint-150")
        let outside = Tensor<Int32>(shape: [1, 4], scalars: [1, 2, 256, 3])
        let id = #expect(throws: EstimatorError.self) { try gpt2.klObjective(data: .tokens(ids: outside, mask: nil)) }
        #expect(id?.code == "eval.token_id")
        #expect(id?.description == "'input_ids' has token id 256 at row 0, position 2; the vocabulary has 256 tokens (0…255)")

        let long = Tensor<Int32>(shape: [1, 129], scalars: Array(repeating: 7, count: 129))
        let length = #expect(throws: EstimatorError.self) { try gpt2.klObjective(data: .tokens(ids: long, mask: nil)) }
        #expect(length?.code == "eval.sequence_length")
        #expect(length?.description == "eval rows have 129 tokens; this gpt2 model takes at most 128 (n_positions)")

        let features = #expect(throws: EstimatorError.self) { try gpt2.klObjective(data: .features(Tensor(zeros: [2, 3]))) }
        #expect(features?.code == "eval.kind")
    }

    /// Right padding: masked keys get no attention, so the unmasked positions' logits equal those
    /// of the unpadded rows, and only unmasked positions count in the KL.
    @Test(arguments: ["neox-tiny/checkpoint-60", "gpt2-tiny/checkpoint-150", "llama-tiny/checkpoint-150"])
    func rightPaddingLeavesUnmaskedPositionsUnchanged(checkpoint: String) throws {
        let model = try LanguageModelFixtures.model(checkpoint)
        let (ids, _) = try LanguageModelFixtures.reference(checkpoint)
        let kept = [40, 64]
        let mask = Tensor<Int32>(shape: [2, 64], scalars: kept.flatMap { k in (0..<64).map { $0 < k ? 1 : 0 } })
        let padded = try model.logits(ids: ids, mask: mask, theta: model.anchor)
        for (row, k) in kept.enumerated() {
            let alone = try model.logits(ids: Tensor(shape: [1, k], scalars: Array(ids.scalars[(row * 64)..<(row * 64 + k)])), theta: model.anchor)
            let start = row * 64 * 256
            let worst = (0..<(k * 256)).map { abs(padded[start + $0] - alone[$0]) }.max()!
            #expect(worst < 1e-5, "row \(row): \(worst)")
        }
        let objective = try model.klObjective(data: .tokens(ids: ids, mask: mask))
        #expect(objective.positions == 104)
    }

    /// Left padding: the padded keys must get no attention. With rotary positions attention
    /// depends only on relative positions, so the shifted real tokens' logits equal those of the
    /// unpadded row.
    @Test(arguments: ["neox-tiny/checkpoint-60", "llama-tiny/checkpoint-150"])
    func maskedKeysGetNoAttention(checkpoint: String) throws {
        let model = try LanguageModelFixtures.model(checkpoint)
        let (ids, _) = try LanguageModelFixtures.reference(checkpoint)
        let (pad, real) = (24, 40)
        let row = Array(ids.scalars[0..<real])
        let padded = Tensor<Int32>(shape: [1, 64], scalars: Array(ids.scalars[64..<(64 + pad)]) + row)
        let mask = Tensor<Int32>(shape: [1, 64], scalars: Array(repeating: 0, count: pad) + Array(repeating: 1, count: real))
        let shifted = try model.logits(ids: padded, mask: mask, theta: model.anchor)
        let alone = try model.logits(ids: Tensor(shape: [1, real], scalars: row), theta: model.anchor)
        let worst = (0..<(real * 256)).map { abs(shifted[pad * 256 + $0] - alone[$0]) }.max()!
        #expect(worst < 1e-4, "largest difference \(worst)")
        #expect(shifted.allSatisfy { $0.isFinite })
    }
}
