import Base

/// GPT-2 (`model_type: gpt2`, transformers' `GPT2LMHeadModel`).
///
/// Learned absolute positions (`wpe`), pre-norm sequential residual, `Conv1D` layers whose
/// weights are stored [in, out], a fused `c_attn` giving [q | k | v] blocks, and by default an
/// output head tied to `wte`.
public enum GPT2 {
    public static func load(config json: JSONValue, configSource: String, weights: any TensorStore) throws(EstimatorError) -> LanguageModel {
        let config = ModelConfig(json, source: configSource)
        let vocabulary = try config.positiveInt("vocab_size")
        let hidden = try config.positiveInt("n_embd")
        let layers = try config.positiveInt("n_layer")
        let heads = try config.positiveInt("n_head")
        let positions = try config.positiveInt("n_positions")
        let inner = try config.positiveInt("n_inner", default: 4 * hidden)
        let activation = try config.activation("activation_function", default: "gelu_new")
        let epsilon = try config.positiveDouble("layer_norm_epsilon", default: 1e-5)
        let tied = try config.bool("tie_word_embeddings", default: true)
        let scaleByHeadSize = try config.bool("scale_attn_weights", default: true)
        let scaleByLayer = try config.bool("scale_attn_by_inverse_layer_idx", default: false)
        guard try !config.bool("add_cross_attention", default: false) else {
            throw config.unsupported("add_cross_attention is true; cross-attention (encoder–decoder GPT-2) is not supported")
        }
        guard hidden % heads == 0 else {
            throw config.fail("n_embd \(hidden) is not a multiple of n_head \(heads)")
        }
        let headSize = hidden / heads

        var loader = ParameterLoader(store: weights, basePrefix: "transformer.", architectureName: "GPT-2")
        try loader.add("transformer.wte.weight", [vocabulary, hidden])
        try loader.add("transformer.wpe.weight", [positions, hidden])
        for i in 0..<layers {
            let p = "transformer.h.\(i)."
            try loader.add(p + "ln_1.weight", [hidden], inLayerNormModule: true)
            try loader.add(p + "ln_1.bias", [hidden], inLayerNormModule: true)
            _ = try loader.linear(p + "attn.c_attn", inputs: hidden, outputs: 3 * hidden, bias: true, inputMajor: true)
            _ = try loader.linear(p + "attn.c_proj", inputs: hidden, outputs: hidden, bias: true, inputMajor: true)
            try loader.add(p + "ln_2.weight", [hidden], inLayerNormModule: true)
            try loader.add(p + "ln_2.bias", [hidden], inLayerNormModule: true)
            _ = try loader.linear(p + "mlp.c_fc", inputs: hidden, outputs: inner, bias: true, inputMajor: true)
            _ = try loader.linear(p + "mlp.c_proj", inputs: inner, outputs: hidden, bias: true, inputMajor: true)
        }
        try loader.add("transformer.ln_f.weight", [hidden], inLayerNormModule: true)
        try loader.add("transformer.ln_f.bias", [hidden], inLayerNormModule: true)
        if tied {
            try loader.checkTiedCopy("lm_head.weight", of: "transformer.wte.weight")
        } else {
            try loader.add("lm_head.weight", [vocabulary, hidden])
        }
        let (layout, anchor) = try loader.finish()

        func conv(_ module: String, _ inputs: Int, _ outputs: Int) -> TransformerStructure.Linear {
            .init(weight: layout.required(module + ".weight"), bias: layout.required(module + ".bias"),
                  inputs: inputs, outputs: outputs, inputMajor: true)
        }
        func norm(_ module: String) -> TransformerStructure.Norm {
            .init(kind: .layerNorm, weight: layout.required(module + ".weight"), bias: layout.required(module + ".bias"), epsilon: Float(epsilon))
        }
        let blocks = (0..<layers).map { i in
            let p = "transformer.h.\(i)."
            var scale: Float = scaleByHeadSize ? 1 / Float(headSize).squareRoot() : 1
            if scaleByLayer { scale /= Float(i + 1) }
            let attention = TransformerStructure.Attention(
                projection: .fused(conv(p + "attn.c_attn", hidden, 3 * hidden)),
                output: conv(p + "attn.c_proj", hidden, hidden),
                heads: heads, keyValueHeads: heads, headDimension: headSize,
                queryColumns: (0..<heads).map { $0 * headSize },
                keyColumns: (0..<heads).map { hidden + $0 * headSize },
                valueColumns: (0..<heads).map { 2 * hidden + $0 * headSize },
                scale: scale)
            return TransformerStructure.Block(
                attentionNorm: norm(p + "ln_1"), feedForwardNorm: norm(p + "ln_2"),
                attention: attention,
                feedForward: .init(up: conv(p + "mlp.c_fc", hidden, inner), gate: nil, down: conv(p + "mlp.c_proj", inner, hidden), activation: activation),
                parallelResidual: false)
        }
        let embedding = layout.required("transformer.wte.weight")
        let structure = TransformerStructure(
            vocabulary: vocabulary, hidden: hidden, tokenEmbedding: embedding,
            positionEmbedding: layout.required("transformer.wpe.weight"),
            rotary: nil, blocks: blocks, finalNorm: norm("transformer.ln_f"),
            head: tied ? embedding : layout.required("lm_head.weight"))
        return LanguageModel(architecture: "gpt2", layout: layout, anchor: anchor, structure: structure)
    }
}
