import Base

/// ResNet (`model_type: resnet`, transformers' `ResNetForImageClassification`).
///
/// Stem: 7×7 stride-2 convolution (no bias, padding 3) → BatchNorm → `hidden_act` → 3×3
/// stride-2 max-pool (padding 1). Stages of basic (two 3×3) or bottleneck (1×1 → 3×3 → 1×1,
/// a quarter of the width inside) layers; every convolution is followed by BatchNorm (eps 1e-5,
/// eval mode, running statistics from the checkpoint's buffers), the shortcut is a 1×1 strided
/// convolution + BatchNorm when width or stride change, and the activation follows the sum.
/// Stage 0 has stride 2 only with `downsample_in_first_stage`; a bottleneck strides in its
/// first 1×1 with `downsample_in_bottleneck`, else in its 3×3. Head: mean over positions →
/// Linear (`classifier.1`).
enum ResNet {
    static func load(config json: JSONValue, configSource: String,
                     weights: any TensorStore) throws(EstimatorError) -> (VisionStructure, ParameterLayout, [Float]) {
        let config = ModelConfig(json, source: configSource)
        let channels = try config.positiveInt("num_channels", default: 3)
        let embedding = try config.positiveInt("embedding_size", default: 64)
        let hiddenSizes = try config.positiveInts("hidden_sizes", default: [256, 512, 1024, 2048])
        let depths = try config.positiveInts("depths", default: [3, 4, 6, 3])
        guard hiddenSizes.count == depths.count else {
            throw config.fail("'hidden_sizes' has \(hiddenSizes.count) entries but 'depths' has \(depths.count)")
        }
        let layerType = try config.string("layer_type", default: "bottleneck")
        guard layerType == "basic" || layerType == "bottleneck" else {
            throw config.unsupported("'layer_type' is '\(layerType)'; ResNet layers are 'basic' or 'bottleneck'")
        }
        let activation = try config.activation("hidden_act", default: "relu")
        let downsampleFirstStage = try config.bool("downsample_in_first_stage", default: false)
        let downsampleInBottleneck = try config.bool("downsample_in_bottleneck", default: false)
        let classes = try config.labelCount()

        var loader = ParameterLoader(store: weights, basePrefix: "resnet.", architectureName: "ResNet")
        /// `ResNetConvLayer`: convolution (no bias) → BatchNorm (→ activation).
        func convLayer(_ module: String, _ inputs: Int, _ outputs: Int, kernel: Int, stride: Int, activation: Activation?) throws(EstimatorError) -> [Step] {
            try loader.conv(module + ".convolution", inputs: inputs, outputs: outputs, kernel: kernel, bias: false)
            var steps: [Step] = [.convolution(module + ".convolution", inputs: inputs, outputs: outputs, kernel: kernel, stride: stride,
                                              padding: kernel / 2, groups: 1, bias: false)]
            steps.append(try loader.batchNorm(module + ".normalization", outputs))
            if let activation { steps.append(.activation(activation)) }
            return steps
        }

        var plan = try convLayer("resnet.embedder.embedder", channels, embedding, kernel: 7, stride: 2, activation: activation)
        plan.append(.maxPool(kernel: 3, stride: 2, padding: 1))
        var previous = embedding
        for (i, (width, depth)) in zip(hiddenSizes, depths).enumerated() {
            for j in 0..<depth {
                let layer = "resnet.encoder.stages.\(i).layers.\(j)."
                let inputs = j == 0 ? previous : width
                let stride = j == 0 && (i > 0 || downsampleFirstStage) ? 2 : 1
                var shortcut: [Step] = []
                // transformers registers the shortcut before the layers: it comes first in named_parameters().
                if inputs != width || stride != 1 {
                    try loader.conv(layer + "shortcut.convolution", inputs: inputs, outputs: width, kernel: 1, bias: false)
                    shortcut = [.convolution(layer + "shortcut.convolution", inputs: inputs, outputs: width, kernel: 1, stride: stride, padding: 0, groups: 1, bias: false),
                                try loader.batchNorm(layer + "shortcut.normalization", width)]
                }
                var body: [Step]
                if layerType == "basic" {
                    body = try convLayer(layer + "layer.0", inputs, width, kernel: 3, stride: stride, activation: .relu)
                    body += try convLayer(layer + "layer.1", width, width, kernel: 3, stride: 1, activation: nil)
                } else {
                    let reduced = width / 4
                    guard reduced > 0 else { throw config.fail("bottleneck width \(width) in 'hidden_sizes' is below 4") }
                    body = try convLayer(layer + "layer.0", inputs, reduced, kernel: 1, stride: downsampleInBottleneck ? stride : 1, activation: .relu)
                    body += try convLayer(layer + "layer.1", reduced, reduced, kernel: 3, stride: downsampleInBottleneck ? 1 : stride, activation: .relu)
                    body += try convLayer(layer + "layer.2", reduced, width, kernel: 1, stride: 1, activation: nil)
                }
                plan.append(.residual(body: body, shortcut: shortcut))
                plan.append(.activation(activation))
            }
            previous = width
        }
        plan.append(.globalAveragePool)
        _ = try loader.linear("classifier.1", inputs: previous, outputs: classes, bias: true)
        plan.append(.linear("classifier.1", previous, classes))
        let (layout, anchor) = try loader.finish()
        let structure = VisionStructure(inputChannels: channels, classes: classes, ops: plan.map { $0.op(layout) })
        return (structure, layout, anchor)
    }
}

extension ParameterLoader {
    /// A BatchNorm2d's weight and bias (parameters) and its running statistics (buffers, read
    /// here and kept out of the layout: D counts parameters only).
    mutating func batchNorm(_ module: String, _ channels: Int, epsilon: Float = 1e-5) throws(EstimatorError) -> Step {
        try add(module + ".weight", [channels])
        try add(module + ".bias", [channels])
        let mean = try buffer(module + ".running_mean", channels)
        let variance = try buffer(module + ".running_var", channels)
        if let bad = variance.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
            throw EstimatorError(code: "model.nonfinite_weights",
                                 "\(store.source): buffer '\(module).running_var' has invalid variance \(variance[bad]) at channel \(bad)")
        }
        if let bad = mean.firstIndex(where: { !$0.isFinite }) {
            throw EstimatorError(code: "model.nonfinite_weights",
                                 "\(store.source): buffer '\(module).running_mean' has non-finite value \(mean[bad]) at channel \(bad)")
        }
        return .batchNorm(module, channels, mean: mean, variance: variance, epsilon: epsilon)
    }

    /// A buffer (not a parameter) of `count` floats.
    func buffer(_ name: String, _ count: Int) throws(EstimatorError) -> [Float] {
        guard let key = storedName(name) else {
            throw EstimatorError(code: "model.missing_tensor",
                                 "\(store.source): no tensor '\(name)' (the \(architectureName) model's BatchNorm needs its running statistics, shape [\(count)])")
        }
        let tensor: RawTensor
        do { tensor = try store.tensor(key) } catch { throw EstimatorError(code: error.code, error.description) }
        guard tensor.shape == [count], tensor.dtype.isFloatingPoint else {
            throw EstimatorError(code: "model.shape",
                                 "\(store.source): buffer '\(key)' is \(tensor.dtype.rawValue) \(tensor.shape); expected floating point [\(count)]")
        }
        return tensor.floats()
    }
}
