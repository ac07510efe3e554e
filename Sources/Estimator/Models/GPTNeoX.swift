import Base

/// GPT-NeoX / Pythia (`model_type: gpt_neox`, transformers' `GPTNeoXForCausalLM`).
///
/// Head-major fused projection: `query_key_value` gives, per head, its query, key and value side
/// by side; rotary on the first `rotary_pct` of each head; parallel residual by default.
public enum GPTNeoX {
    public static func load(config json: JSONValue, configSource: String, weights: any TensorStore) throws(EstimatorError) -> LanguageModel {
        let config = ModelConfig(json, source: configSource)
        let vocabulary = try config.positiveInt("vocab_size")
        let hidden = try config.positiveInt("hidden_size")
        let layers = try config.positiveInt("num_hidden_layers")
        let heads = try config.positiveInt("num_attention_heads")
        let intermediate = try config.positiveInt("intermediate_size")
        let activation = try config.activation("hidden_act", default: "gelu")
        let epsilon = try config.positiveDouble("layer_norm_eps", default: 1e-5)
        let parallel = try config.bool("use_parallel_residual", default: true)
        let attentionBias = try config.bool("attention_bias", default: true)
        let tied = try config.bool("tie_word_embeddings", default: false)
        guard hidden % heads == 0 else {
            throw config.fail("hidden_size \(hidden) is not a multiple of num_attention_heads \(heads)")
        }
        let headSize = hidden / heads
        let rotary = try config.rotary(headDim: headSize, defaultFraction: 0.25, legacyFraction: "rotary_pct", legacyBase: "rotary_emb_base")

        var loader = ParameterLoader(store: weights, basePrefix: "gpt_neox.", architectureName: "GPT-NeoX")
        try loader.add("gpt_neox.embed_in.weight", [vocabulary, hidden])
        var names: [(qkv: String, dense: String, up: String, down: String)] = []
        for i in 0..<layers {
            let p = "gpt_neox.layers.\(i)."
            for norm in ["input_layernorm", "post_attention_layernorm"] {
                try loader.add(p + norm + ".weight", [hidden], inLayerNormModule: true)
                try loader.add(p + norm + ".bias", [hidden], inLayerNormModule: true)
            }
            let qkv = try loader.linear(p + "attention.query_key_value", inputs: hidden, outputs: 3 * hidden, bias: attentionBias)
            let dense = try loader.linear(p + "attention.dense", inputs: hidden, outputs: hidden, bias: attentionBias)
            let up = try loader.linear(p + "mlp.dense_h_to_4h", inputs: hidden, outputs: intermediate, bias: true)
            let down = try loader.linear(p + "mlp.dense_4h_to_h", inputs: intermediate, outputs: hidden, bias: true)
            names.append((qkv.weight, dense.weight, up.weight, down.weight))
        }
        try loader.add("gpt_neox.final_layer_norm.weight", [hidden], inLayerNormModule: true)
        try loader.add("gpt_neox.final_layer_norm.bias", [hidden], inLayerNormModule: true)
        // transformers 5 calls the head `lm_head` in memory but saves the legacy `embed_out`.
        let headName = loader.contains("embed_out.weight") || !loader.contains("lm_head.weight") ? "embed_out.weight" : "lm_head.weight"
        if !tied { try loader.add(headName, [vocabulary, hidden]) }
        let (layout, anchor) = try loader.finish()

        func linear(_ weight: String, _ inputs: Int, _ outputs: Int) -> TransformerStructure.Linear {
            let module = String(weight.dropLast(".weight".count))
            return .init(weight: layout.required(weight), bias: layout[module + ".bias"], inputs: inputs, outputs: outputs, inputMajor: false)
        }
        func norm(_ module: String) -> TransformerStructure.Norm {
            .init(kind: .layerNorm, weight: layout.required(module + ".weight"), bias: layout[module + ".bias"], epsilon: Float(epsilon))
        }
        let blocks = names.enumerated().map { i, n in
            let p = "gpt_neox.layers.\(i)."
            let attention = TransformerStructure.Attention(
                projection: .fused(linear(n.qkv, hidden, 3 * hidden)),
                output: linear(n.dense, hidden, hidden),
                heads: heads, keyValueHeads: heads, headDimension: headSize,
                queryColumns: (0..<heads).map { $0 * 3 * headSize },
                keyColumns: (0..<heads).map { $0 * 3 * headSize + headSize },
                valueColumns: (0..<heads).map { $0 * 3 * headSize + 2 * headSize },
                scale: 1 / Float(headSize).squareRoot())
            return TransformerStructure.Block(
                attentionNorm: norm(p + "input_layernorm"), feedForwardNorm: norm(p + "post_attention_layernorm"),
                attention: attention,
                feedForward: .init(up: linear(n.up, hidden, intermediate), gate: nil, down: linear(n.down, intermediate, hidden), activation: activation),
                parallelResidual: parallel)
        }
        let embedding = layout.required("gpt_neox.embed_in.weight")
        let structure = TransformerStructure(
            vocabulary: vocabulary, hidden: hidden, tokenEmbedding: embedding, positionEmbedding: nil,
            rotary: rotary, blocks: blocks, finalNorm: norm("gpt_neox.final_layer_norm"),
            head: tied ? embedding : layout.required(headName))
        return LanguageModel(architecture: "gpt_neox", layout: layout, anchor: anchor, structure: structure)
    }
}
