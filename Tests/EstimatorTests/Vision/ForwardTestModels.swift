@testable import Estimator
import Base

/// Small ConvNeXt models with random weights and random pixels, built in memory (no fixtures),
/// for the forward pass's and objectives' behaviour.
enum ForwardTestModels {
    /// A ConvNeXt (V2 with GRN, else V1 with layer scale) of widths `widths` and one block per
    /// stage, `patch` × `patch` stem, `channels` input channels and `classes` classes.
    static func convNeXt(version2: Bool, widths: [Int] = [8, 16], patch: Int = 2, channels: Int = 3, classes: Int = 5,
                         seed: UInt64 = 1) throws -> VisionModel {
        var random = TestRandom(seed: seed)
        let base = version2 ? "convnextv2." : "convnext."
        var tensors: [(name: String, shape: [Int], values: [Float])] = []
        func add(_ name: String, _ shape: [Int], scale: Double = 0.3, offset: Float = 0) {
            tensors.append((name, shape, (0..<shape.reduce(1, *)).map { _ in offset + Float(scale * random.symmetric()) }))
        }
        func norm(_ module: String, _ c: Int) {
            add(module + ".weight", [c], offset: 1)
            add(module + ".bias", [c])
        }
        add(base + "embeddings.patch_embeddings.weight", [widths[0], channels, patch, patch])
        add(base + "embeddings.patch_embeddings.bias", [widths[0]])
        norm(base + "embeddings.layernorm", widths[0])
        for (i, c) in widths.enumerated() {
            let stage = base + "encoder.stages.\(i)."
            if i > 0 {
                norm(stage + "downsampling_layer.0", widths[i - 1])
                add(stage + "downsampling_layer.1.weight", [c, widths[i - 1], 2, 2])
                add(stage + "downsampling_layer.1.bias", [c])
            }
            let block = stage + "layers.0."
            add(block + "dwconv.weight", [c, 1, 7, 7])
            add(block + "dwconv.bias", [c])
            norm(block + "layernorm", c)
            add(block + "pwconv1.weight", [4 * c, c])
            add(block + "pwconv1.bias", [4 * c])
            if version2 {
                add(block + "grn.weight", [1, 1, 1, 4 * c])
                add(block + "grn.bias", [1, 1, 1, 4 * c])
            }
            add(block + "pwconv2.weight", [c, 4 * c])
            add(block + "pwconv2.bias", [c])
            if !version2 { add(block + "layer_scale_parameter", [c], offset: 0.5) }
        }
        norm(base + "layernorm", widths.last!)
        add("classifier.weight", [classes, widths.last!])
        add("classifier.bias", [classes])
        let config = """
            {"model_type": "\(version2 ? "convnextv2" : "convnext")", "num_channels": \(channels), "patch_size": \(patch),
             "hidden_sizes": \(widths), "depths": \(widths.map { _ in 1 }), "num_labels": \(classes), "hidden_act": "gelu",
             "layer_norm_eps": 1e-12, "layer_scale_init_value": 0.5}
            """
        return try VisionModel.load(architecture: version2 ? "convnextv2" : "convnext", config: try JSONValue.parse(Array(config.utf8)),
                                    configSource: "in-memory config.json", preprocessing: nil,
                                    weights: InMemoryTensors(tensors: tensors))
    }

    /// `images` random images as `pixel_values` [N, C, H, W].
    static func pixels(images: Int, channels: Int = 3, size: Int = 16, seed: UInt64 = 2) -> EvalData {
        var random = TestRandom(seed: seed)
        let count = images * channels * size * size
        return .images(ImageBatch(.values(Tensor(shape: [images, channels, size, size],
                                                 scalars: (0..<count).map { _ in Float(random.symmetric()) }))))
    }

    /// The costs at `distances` along `direction` of a new evaluator on `lanes` lanes (the
    /// direction's buffer is valid only inside this call).
    static func costs(_ objective: any KLObjective, lanes: Int = 1, direction: [Float], at distances: [Double]) -> [Double] {
        let evaluator = objective.makeEvaluator(lanes: lanes)
        return direction.withUnsafeBufferPointer { buffer in
            evaluator.setDirection(buffer)
            return distances.map { evaluator.cost(at: $0) }
        }
    }

    /// A unit direction for `dimension` parameters.
    static func direction(_ dimension: Int, seed: UInt64 = 3) -> [Float] {
        var direction = [Float](repeating: 0, count: dimension)
        direction.withUnsafeMutableBufferPointer { DirectionSampler(seed: seed, dimension: $0.count).unitDirection(0, into: $0) }
        return direction
    }
}
