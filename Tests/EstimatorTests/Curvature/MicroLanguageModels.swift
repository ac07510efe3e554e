import Base
import Glibc
@testable import Estimator

/// Language models small enough for dense curvature checks (D of a few thousand, a vocabulary of
/// 7), built through the architectures' own loaders from random weights.
enum MicroLanguageModels {
    enum Kind: String, CaseIterable, Sendable {
        /// GPT-NeoX with its parallel residual and partial rotary.
        case neox
        /// GPT-NeoX with `use_parallel_residual: false`.
        case neoxSequential
        /// GPT-2: learned positions, Conv1D weights, tied embeddings, tanh GELU.
        case gpt2
        /// Llama: RMSNorm, SwiGLU, grouped-query attention, head_dim ≠ hidden/heads.
        case llama
    }

    static let vocabulary = 7
    static let hidden = 8
    static let inner = 12

    static func model(_ kind: Kind, seed: UInt64) throws -> LanguageModel {
        let (v, h, i) = (vocabulary, hidden, inner)
        var shapes: [(String, [Int])] = []
        let config: String
        switch kind {
        case .neox, .neoxSequential:
            config = """
                {"model_type": "gpt_neox", "vocab_size": \(v), "hidden_size": \(h), "num_hidden_layers": 2,
                 "num_attention_heads": 2, "intermediate_size": \(i), "hidden_act": "gelu", "rotary_pct": 0.5,
                 "use_parallel_residual": \(kind == .neox)}
                """
            shapes.append(("gpt_neox.embed_in.weight", [v, h]))
            for l in 0..<2 {
                let p = "gpt_neox.layers.\(l)."
                shapes += [(p + "input_layernorm.weight", [h]), (p + "input_layernorm.bias", [h]),
                           (p + "post_attention_layernorm.weight", [h]), (p + "post_attention_layernorm.bias", [h]),
                           (p + "attention.query_key_value.weight", [3 * h, h]), (p + "attention.query_key_value.bias", [3 * h]),
                           (p + "attention.dense.weight", [h, h]), (p + "attention.dense.bias", [h]),
                           (p + "mlp.dense_h_to_4h.weight", [i, h]), (p + "mlp.dense_h_to_4h.bias", [i]),
                           (p + "mlp.dense_4h_to_h.weight", [h, i]), (p + "mlp.dense_4h_to_h.bias", [h])]
            }
            shapes += [("gpt_neox.final_layer_norm.weight", [h]), ("gpt_neox.final_layer_norm.bias", [h]),
                       ("embed_out.weight", [v, h])]
        case .gpt2:
            config = """
                {"model_type": "gpt2", "vocab_size": \(v), "n_embd": \(h), "n_layer": 2, "n_head": 2,
                 "n_positions": 8, "n_inner": \(i), "activation_function": "gelu_new"}
                """
            shapes += [("transformer.wte.weight", [v, h]), ("transformer.wpe.weight", [8, h])]
            for l in 0..<2 {
                let p = "transformer.h.\(l)."
                shapes += [(p + "ln_1.weight", [h]), (p + "ln_1.bias", [h]),
                           (p + "attn.c_attn.weight", [h, 3 * h]), (p + "attn.c_attn.bias", [3 * h]),
                           (p + "attn.c_proj.weight", [h, h]), (p + "attn.c_proj.bias", [h]),
                           (p + "ln_2.weight", [h]), (p + "ln_2.bias", [h]),
                           (p + "mlp.c_fc.weight", [h, i]), (p + "mlp.c_fc.bias", [i]),
                           (p + "mlp.c_proj.weight", [i, h]), (p + "mlp.c_proj.bias", [h])]
            }
            shapes += [("transformer.ln_f.weight", [h]), ("transformer.ln_f.bias", [h])]
        case .llama:
            // 4 query heads of 4 dimensions share 2 key/value heads; queries are 16 wide, not 8.
            config = """
                {"model_type": "llama", "vocab_size": \(v), "hidden_size": \(h), "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 4, "intermediate_size": \(i),
                 "hidden_act": "silu"}
                """
            shapes.append(("model.embed_tokens.weight", [v, h]))
            for l in 0..<2 {
                let p = "model.layers.\(l)."
                shapes += [(p + "self_attn.q_proj.weight", [16, h]), (p + "self_attn.k_proj.weight", [8, h]),
                           (p + "self_attn.v_proj.weight", [8, h]), (p + "self_attn.o_proj.weight", [h, 16]),
                           (p + "mlp.gate_proj.weight", [i, h]), (p + "mlp.up_proj.weight", [i, h]),
                           (p + "mlp.down_proj.weight", [h, i]),
                           (p + "input_layernorm.weight", [h]), (p + "post_attention_layernorm.weight", [h])]
            }
            shapes += [("model.norm.weight", [h]), ("lm_head.weight", [v, h])]
        }
        var random = TestRandom(seed: seed)
        let tensors = shapes.map { name, shape in
            let count = shape.reduce(1, *)
            let norm = name.contains("norm") || name.contains("ln_")
            let values = (0..<count).map { _ -> Float in
                let u = random.symmetric()
                if norm { return Float(name.hasSuffix("weight") ? 1 + 0.3 * u : 0.2 * u) }
                if name.hasSuffix("bias") { return Float(0.2 * u) }
                return Float((name.contains("embed") || name.contains("wte") || name.contains("wpe") ? 1 : 0.6) * u)
            }
            return (name: name, shape: shape, values: values)
        }
        let json = try JSONValue.parse(config)
        let weights = InMemoryTensors(tensors: tensors)
        switch kind {
        case .neox, .neoxSequential: return try GPTNeoX.load(config: json, configSource: "micro", weights: weights)
        case .gpt2: return try GPT2.load(config: json, configSource: "micro", weights: weights)
        case .llama: return try Llama.load(config: json, configSource: "micro", weights: weights)
        }
    }

    /// Two random sequences of `length` tokens; the second is left-padded by two masked positions
    /// (no attention to them, and the KL does not count them).
    static func evalData(length: Int, seed: UInt64) -> EvalData {
        var random = TestRandom(seed: seed)
        let ids = (0..<(2 * length)).map { _ in Int32(random.next() % UInt64(vocabulary)) }
        let mask = (0..<(2 * length)).map { $0 == length || $0 == length + 1 ? Int32(0) : 1 }
        return .tokens(ids: Tensor(shape: [2, length], scalars: ids), mask: Tensor(shape: [2, length], scalars: mask))
    }

    static func tokens(_ model: LanguageModel, length: Int, seed: UInt64) throws -> TokenContext {
        try model.tokenContext(evalData(length: length, seed: seed))
    }

    /// Mean over the counted positions (`counted`, else the unmasked ones) of
    /// KL(p_anchor ‖ softmax(logits(θ))) in float64 for any language model, from logit
    /// differences (log1p/expm1) so that its O(h²) values keep their relative precision.
    static func kl(_ model: LanguageModel, _ tokens: TokenContext, anchorLogits: [Double], theta: [Double],
                   counted: [Int]? = nil) -> Double {
        let logits = theta.withUnsafeBufferPointer {
            TransformerActivations(structure: model.structure, tokens: tokens, theta: $0.baseAddress!).logits
        }
        let c = model.structure.vocabulary
        let counted = counted ?? tokens.included ?? Array(0..<tokens.tokens)
        var total = 0.0
        for r in counted {
            let anchor = anchorLogits[(r * c)..<((r + 1) * c)]
            let m = anchor.max()!
            let s = anchor.reduce(0) { $0 + exp($1 - m) }
            let p = anchor.map { exp($0 - m) / s }
            var mean = 0.0
            for k in 0..<c { mean += p[k] * (logits[r * c + k] - anchorLogits[r * c + k]) }
            var second = 0.0, first = 0.0
            for k in 0..<c {
                let x = logits[r * c + k] - anchorLogits[r * c + k] - mean
                second += p[k] * Float64Reference.expm1MinusX(x)
                first += p[k] * x
            }
            total += log1p(second + first)
        }
        return total / Double(counted.count)
    }
}
