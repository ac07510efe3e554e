import Base

/// Llama (`model_type: llama`, transformers' `LlamaForCausalLM`).
///
/// RMSNorm, separate q/k/v projections with grouped-query attention, rotary on the whole head,
/// SwiGLU feed-forward, and by default an untied `lm_head`.
public enum Llama {
    public static func load(config json: JSONValue, configSource: String, weights: any TensorStore) throws(EstimatorError) -> LanguageModel {
        let config = ModelConfig(json, source: configSource)
        let vocabulary = try config.positiveInt("vocab_size")
        let hidden = try config.positiveInt("hidden_size")
        let layers = try config.positiveInt("num_hidden_layers")
        let heads = try config.positiveInt("num_attention_heads")
        let keyValueHeads = try config.positiveInt("num_key_value_heads", default: heads)
        let intermediate = try config.positiveInt("intermediate_size")
        let activation = try config.activation("hidden_act", default: "silu")
        let epsilon = try config.positiveDouble("rms_norm_eps", default: 1e-6)
        let tied = try config.bool("tie_word_embeddings", default: false)
        let attentionBias = try config.bool("attention_bias", default: false)
        let mlpBias = try config.bool("mlp_bias", default: false)
        guard heads % keyValueHeads == 0 else {
            throw config.fail("num_attention_heads \(heads) is not a multiple of num_key_value_heads \(keyValueHeads)")
        }
        guard hidden % heads == 0 || config.value("head_dim") != nil else {
            throw config.fail("hidden_size \(hidden) is not a multiple of num_attention_heads \(heads) and there is no head_dim")
        }
        let headSize = try config.positiveInt("head_dim", default: hidden / heads)
        let rotary = try config.rotary(headDim: headSize, defaultFraction: 1, legacyFraction: nil, legacyBase: nil)
        guard rotary.dimensions == headSize else {
            throw config.unsupported("partial rotary factor (\(rotary.dimensions) of \(headSize) head dimensions): Llama rotates whole heads")
        }

        var loader = ParameterLoader(store: weights, basePrefix: "model.", architectureName: "Llama")
        try loader.add("model.embed_tokens.weight", [vocabulary, hidden])
        for i in 0..<layers {
            let p = "model.layers.\(i)."
            _ = try loader.linear(p + "self_attn.q_proj", inputs: hidden, outputs: heads * headSize, bias: attentionBias)
            _ = try loader.linear(p + "self_attn.k_proj", inputs: hidden, outputs: keyValueHeads * headSize, bias: attentionBias)
            _ = try loader.linear(p + "self_attn.v_proj", inputs: hidden, outputs: keyValueHeads * headSize, bias: attentionBias)
            _ = try loader.linear(p + "self_attn.o_proj", inputs: heads * headSize, outputs: hidden, bias: attentionBias)
            _ = try loader.linear(p + "mlp.gate_proj", inputs: hidden, outputs: intermediate, bias: mlpBias)
            _ = try loader.linear(p + "mlp.up_proj", inputs: hidden, outputs: intermediate, bias: mlpBias)
            _ = try loader.linear(p + "mlp.down_proj", inputs: intermediate, outputs: hidden, bias: mlpBias)
            // RMSNorm is not a torch LayerNorm module: the Trainer's name rule decides its group.
            try loader.add(p + "input_layernorm.weight", [hidden])
            try loader.add(p + "post_attention_layernorm.weight", [hidden])
        }
        try loader.add("model.norm.weight", [hidden])
        if tied {
            try loader.checkTiedCopy("lm_head.weight", of: "model.embed_tokens.weight")
        } else {
            try loader.add("lm_head.weight", [vocabulary, hidden])
        }
        let (layout, anchor) = try loader.finish()

        func linear(_ module: String, _ inputs: Int, _ outputs: Int) -> TransformerStructure.Linear {
            .init(weight: layout.required(module + ".weight"), bias: layout[module + ".bias"],
                  inputs: inputs, outputs: outputs, inputMajor: false)
        }
        func norm(_ module: String) -> TransformerStructure.Norm {
            .init(kind: .rms, weight: layout.required(module + ".weight"), bias: nil, epsilon: Float(epsilon))
        }
        let queryWidth = heads * headSize, keyWidth = keyValueHeads * headSize
        let blocks = (0..<layers).map { i in
            let p = "model.layers.\(i)."
            let attention = TransformerStructure.Attention(
                projection: .separate(query: linear(p + "self_attn.q_proj", hidden, queryWidth),
                                      key: linear(p + "self_attn.k_proj", hidden, keyWidth),
                                      value: linear(p + "self_attn.v_proj", hidden, keyWidth)),
                output: linear(p + "self_attn.o_proj", queryWidth, hidden),
                heads: heads, keyValueHeads: keyValueHeads, headDimension: headSize,
                queryColumns: (0..<heads).map { $0 * headSize },
                keyColumns: (0..<keyValueHeads).map { queryWidth + $0 * headSize },
                valueColumns: (0..<keyValueHeads).map { queryWidth + keyWidth + $0 * headSize },
                scale: 1 / Float(headSize).squareRoot())
            return TransformerStructure.Block(
                attentionNorm: norm(p + "input_layernorm"), feedForwardNorm: norm(p + "post_attention_layernorm"),
                attention: attention,
                feedForward: .init(up: linear(p + "mlp.up_proj", hidden, intermediate),
                                   gate: linear(p + "mlp.gate_proj", hidden, intermediate),
                                   down: linear(p + "mlp.down_proj", intermediate, hidden), activation: activation),
                parallelResidual: false)
        }
        let embedding = layout.required("model.embed_tokens.weight")
        let structure = TransformerStructure(
            vocabulary: vocabulary, hidden: hidden, tokenEmbedding: embedding, positionEmbedding: nil,
            rotary: rotary, blocks: blocks, finalNorm: norm("model.norm"),
            head: tied ? embedding : layout.required("lm_head.weight"))
        return LanguageModel(architecture: "llama", layout: layout, anchor: anchor, structure: structure)
    }
}
