/// The shape of a GPT-NeoX model as Pythia configures it (intermediate 4 × hidden, rotary on a
/// quarter of each head, parallel residual, untied output head): what a synthetic checkpoint
/// of the scale benchmark is written with.
public struct PythiaShape: Sendable, Equatable {
    /// How the shape is named on the command line (`70m`).
    public let name: String
    public let hidden: Int
    public let layers: Int
    public let heads: Int
    public let vocabulary: Int

    public init(name: String, hidden: Int, layers: Int, heads: Int, vocabulary: Int = 50_304) {
        self.name = name
        self.hidden = hidden
        self.layers = layers
        self.heads = heads
        self.vocabulary = vocabulary
    }

    public static let pythia70M = PythiaShape(name: "70m", hidden: 512, layers: 6, heads: 8)
    public static let pythia160M = PythiaShape(name: "160m", hidden: 768, layers: 12, heads: 12)
    public static let pythia410M = PythiaShape(name: "410m", hidden: 1024, layers: 24, heads: 16)
    public static let pythia1B = PythiaShape(name: "1b", hidden: 2048, layers: 16, heads: 8)
    public static let all = [pythia70M, pythia160M, pythia410M, pythia1B]

    /// The shape called `name` (case-insensitive).
    public static func named(_ name: String) throws(BenchmarkError) -> PythiaShape {
        guard let shape = all.first(where: { $0.name == name.lowercased() }) else {
            throw BenchmarkError(code: "bench.shape", "unknown shape '\(name)'; the shapes are \(all.map(\.name).joined(separator: ", "))")
        }
        return shape
    }

    public var intermediate: Int { 4 * hidden }

    /// How a tensor of the synthetic checkpoint is filled.
    public enum Fill: Sendable, Equatable {
        /// Random, approximately N(0, 0.02²) (Pythia's initializer range).
        case random
        /// Norm weights.
        case ones
        /// Biases, and norm biases.
        case zeros
    }

    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let fill: Fill
        public var count: Int { shape.reduce(1, *) }
    }

    /// Every tensor of `GPTNeoXForCausalLM`'s state dict, in the order transformers saves them.
    public var tensors: [Tensor] {
        var t = [Tensor(name: "gpt_neox.embed_in.weight", shape: [vocabulary, hidden], fill: .random)]
        for i in 0..<layers {
            let p = "gpt_neox.layers.\(i)."
            for norm in ["input_layernorm", "post_attention_layernorm"] {
                t.append(Tensor(name: p + norm + ".weight", shape: [hidden], fill: .ones))
                t.append(Tensor(name: p + norm + ".bias", shape: [hidden], fill: .zeros))
            }
            for (module, inputs, outputs) in [("attention.query_key_value", hidden, 3 * hidden), ("attention.dense", hidden, hidden),
                                              ("mlp.dense_h_to_4h", hidden, intermediate), ("mlp.dense_4h_to_h", intermediate, hidden)] {
                t.append(Tensor(name: p + module + ".weight", shape: [outputs, inputs], fill: .random))
                t.append(Tensor(name: p + module + ".bias", shape: [outputs], fill: .zeros))
            }
        }
        t.append(Tensor(name: "gpt_neox.final_layer_norm.weight", shape: [hidden], fill: .ones))
        t.append(Tensor(name: "gpt_neox.final_layer_norm.bias", shape: [hidden], fill: .zeros))
        t.append(Tensor(name: "embed_out.weight", shape: [vocabulary, hidden], fill: .random))
        return t
    }

    /// D, the parameters volumed estimates over (every tensor above).
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }
}
