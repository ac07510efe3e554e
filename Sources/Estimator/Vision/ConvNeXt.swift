import Base

/// ConvNeXt V1 (`model_type: convnext`) and V2 (`convnextv2`) image classifiers as transformers
/// builds them (`ConvNextForImageClassification`, `ConvNextV2ForImageClassification`).
///
/// Stem: a `patch_size` × `patch_size` convolution of stride `patch_size`, then a LayerNorm
/// (eps 1e-6). Stage i > 0 starts with LayerNorm (eps 1e-6) and a 2×2 stride-2 convolution; so
/// does stage 0 when its width differs from the stem's (never, as transformers builds it). A
/// block is x + f(x), f = depthwise 7×7 (padding 3) → LayerNorm (eps 1e-6) → Linear(C, 4C) →
/// `hidden_act` → GRN (V2) → Linear(4C, C) → layer scale (V1, when `layer_scale_init_value` > 0).
/// Drop path is inactive in eval mode. Head: mean over positions → LayerNorm (`layer_norm_eps`)
/// → Linear(C, `num_labels`).
enum ConvNeXt {
    static func load(version2: Bool, config json: JSONValue, configSource: String,
                     weights: any TensorStore) throws(EstimatorError) -> (VisionStructure, ParameterLayout, [Float]) {
        let config = ModelConfig(json, source: configSource)
        let base = version2 ? "convnextv2." : "convnext."
        let channels = try config.positiveInt("num_channels", default: 3)
        let patch = try config.positiveInt("patch_size", default: 4)
        let hiddenSizes = try config.positiveInts("hidden_sizes", default: [96, 192, 384, 768])
        let depths = try config.positiveInts("depths", default: [3, 3, 9, 3])
        guard hiddenSizes.count == depths.count else {
            throw config.fail("'hidden_sizes' has \(hiddenSizes.count) entries but 'depths' has \(depths.count)")
        }
        if let stages = try config.optionalPositiveInt("num_stages"), stages != depths.count {
            throw config.fail("'num_stages' is \(stages) but 'depths' has \(depths.count) entries")
        }
        let classes = try config.labelCount()
        let activation = try config.activation("hidden_act", default: "gelu")
        let finalEpsilon = Float(try config.positiveDouble("layer_norm_eps", default: 1e-12))
        let layerScale = version2 ? 0 : (try config.number("layer_scale_init_value") ?? 1e-6)

        var loader = ParameterLoader(store: weights, basePrefix: base, architectureName: version2 ? "ConvNeXt V2" : "ConvNeXt")
        // Ops are built after the layout exists; record what each needs by name.
        var plan: [Step] = []
        let stem = base + "embeddings."
        try loader.conv(stem + "patch_embeddings", inputs: channels, outputs: hiddenSizes[0], kernel: patch, bias: true)
        plan.append(.convolution(stem + "patch_embeddings", inputs: channels, outputs: hiddenSizes[0], kernel: patch, stride: patch, padding: 0, groups: 1, bias: true))
        try loader.norm(stem + "layernorm", hiddenSizes[0])
        plan.append(.layerNorm(stem + "layernorm", hiddenSizes[0], 1e-6))
        var previous = hiddenSizes[0]
        for (i, (width, depth)) in zip(hiddenSizes, depths).enumerated() {
            let stage = base + "encoder.stages.\(i)."
            if i > 0 || previous != width {
                let stride = i > 0 ? 2 : 1
                try loader.norm(stage + "downsampling_layer.0", previous)
                plan.append(.layerNorm(stage + "downsampling_layer.0", previous, 1e-6))
                try loader.conv(stage + "downsampling_layer.1", inputs: previous, outputs: width, kernel: 2, bias: true)
                plan.append(.convolution(stage + "downsampling_layer.1", inputs: previous, outputs: width, kernel: 2, stride: stride, padding: 0, groups: 1, bias: true))
            }
            for j in 0..<depth {
                let block = stage + "layers.\(j)."
                var body: [Step] = []
                // The layer's own parameter precedes its submodules' in named_parameters().
                if layerScale > 0 { try loader.add(block + "layer_scale_parameter", [width]) }
                try loader.add(block + "dwconv.weight", [width, 1, 7, 7])
                try loader.add(block + "dwconv.bias", [width])
                body.append(.convolution(block + "dwconv", inputs: width, outputs: width, kernel: 7, stride: 1, padding: 3, groups: width, bias: true))
                try loader.norm(block + "layernorm", width)
                body.append(.layerNorm(block + "layernorm", width, 1e-6))
                _ = try loader.linear(block + "pwconv1", inputs: width, outputs: 4 * width, bias: true)
                body.append(.linear(block + "pwconv1", width, 4 * width))
                body.append(.activation(activation))
                if version2 {
                    try loader.add(block + "grn.weight", [1, 1, 1, 4 * width])
                    try loader.add(block + "grn.bias", [1, 1, 1, 4 * width])
                    body.append(.globalResponseNorm(block + "grn", 4 * width))
                }
                _ = try loader.linear(block + "pwconv2", inputs: 4 * width, outputs: width, bias: true)
                body.append(.linear(block + "pwconv2", 4 * width, width))
                if layerScale > 0 { body.append(.layerScale(block + "layer_scale_parameter")) }
                plan.append(.residual(body: body, shortcut: []))
            }
            previous = width
        }
        plan.append(.globalAveragePool)
        try loader.norm(base + "layernorm", previous)
        plan.append(.layerNorm(base + "layernorm", previous, finalEpsilon))
        _ = try loader.linear("classifier", inputs: previous, outputs: classes, bias: true)
        plan.append(.linear("classifier", previous, classes))
        let (layout, anchor) = try loader.finish()
        let structure = VisionStructure(inputChannels: channels, classes: classes, ops: plan.map { $0.op(layout) })
        return (structure, layout, anchor)
    }
}

/// A `VisionOp` named by its module, resolved once the layout is final.
enum Step {
    case convolution(String, inputs: Int, outputs: Int, kernel: Int, stride: Int, padding: Int, groups: Int, bias: Bool)
    case layerNorm(String, Int, Float)
    case batchNorm(String, Int, mean: [Float], variance: [Float], epsilon: Float)
    case globalResponseNorm(String, Int)
    case activation(Activation)
    case layerScale(String)
    case maxPool(kernel: Int, stride: Int, padding: Int)
    case globalAveragePool
    case linear(String, Int, Int)
    indirect case residual(body: [Step], shortcut: [Step])

    func op(_ layout: ParameterLayout) -> VisionOp {
        switch self {
        case .convolution(let m, let inputs, let outputs, let kernel, let stride, let padding, let groups, let bias):
            return .convolution(Convolution(weight: layout.required(m + ".weight"), bias: bias ? layout.required(m + ".bias") : nil,
                                            inputs: inputs, outputs: outputs, kernel: kernel, stride: stride, padding: padding, groups: groups))
        case .layerNorm(let m, let channels, let epsilon):
            return .layerNorm(ChannelNorm(weight: layout.required(m + ".weight"), bias: layout.required(m + ".bias"), channels: channels, epsilon: epsilon))
        case .batchNorm(let m, let channels, let mean, let variance, let epsilon):
            return .batchNorm(BatchNorm(weight: layout.required(m + ".weight"), bias: layout.required(m + ".bias"),
                                        runningMean: mean, runningVariance: variance, channels: channels, epsilon: epsilon))
        case .globalResponseNorm(let m, let channels):
            return .globalResponseNorm(GlobalResponseNorm(weight: layout.required(m + ".weight"), bias: layout.required(m + ".bias"), channels: channels))
        case .activation(let a): return .activation(a)
        case .layerScale(let name): return .layerScale(layout.required(name))
        case .maxPool(let kernel, let stride, let padding): return .maxPool(kernel: kernel, stride: stride, padding: padding)
        case .globalAveragePool: return .globalAveragePool
        case .linear(let m, let inputs, let outputs):
            return .linear(PointwiseLinear(weight: layout.required(m + ".weight"), bias: layout[m + ".bias"], inputs: inputs, outputs: outputs))
        case .residual(let body, let shortcut):
            return .residual(body: body.map { $0.op(layout) }, shortcut: shortcut.map { $0.op(layout) })
        }
    }
}

extension ParameterLoader {
    /// `nn.Conv2d` weight [outputs, inputs/groups, kernel, kernel] (+ bias [outputs]).
    mutating func conv(_ module: String, inputs: Int, outputs: Int, kernel: Int, groups: Int = 1, bias: Bool) throws(EstimatorError) {
        try add(module + ".weight", [outputs, inputs / groups, kernel, kernel])
        if bias { try add(module + ".bias", [outputs]) }
    }

    /// A LayerNorm module's weight and bias (excluded from weight decay by module type).
    mutating func norm(_ module: String, _ channels: Int) throws(EstimatorError) {
        try add(module + ".weight", [channels], inLayerNormModule: true)
        try add(module + ".bias", [channels], inLayerNormModule: true)
    }
}

extension ModelConfig {
    /// A non-empty list of positive integers.
    func positiveInts(_ key: String, default fallback: [Int]) throws(EstimatorError) -> [Int] {
        guard let v = value(key) else { return fallback }
        guard let items = v.arrayValue, !items.isEmpty else {
            throw fail("'\(key)' must be a non-empty list of positive integers, found \(v.serialized())")
        }
        var result: [Int] = []
        for item in items {
            guard let n = item.intValue ?? item.doubleValue.flatMap({ $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil }), n > 0 else {
                throw fail("'\(key)' must be a non-empty list of positive integers, found \(v.serialized())")
            }
            result.append(n)
        }
        return result
    }

    func optionalPositiveInt(_ key: String) throws(EstimatorError) -> Int? {
        value(key) == nil ? nil : try positiveInt(key)
    }

    /// `num_labels`, else the size of `id2label` (transformers derives one from the other); 2 when neither is given.
    func labelCount() throws(EstimatorError) -> Int {
        if value("num_labels") != nil { return try positiveInt("num_labels") }
        if let labels = value("id2label") {
            guard let object = labels.objectValue, object.count > 0 else {
                throw fail("'id2label' must be a non-empty object, found \(labels.serialized())")
            }
            return object.count
        }
        return 2
    }
}
