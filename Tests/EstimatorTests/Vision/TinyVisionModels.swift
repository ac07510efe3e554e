@testable import Estimator

/// Tiny random networks of each vision family, built from `ParameterLayout` and `Step`s the way
/// `ConvNeXt.load` and `ResNet.load` build theirs, small enough for finite differences over
/// every parameter.
struct TinyVisionModel {
    enum Family: String, CaseIterable, CustomStringConvertible {
        case convnextv2, convnext, resnetBasic, resnetBottleneck
        var description: String { rawValue }
    }

    let structure: VisionStructure
    let layout: ParameterLayout
    let theta: [Double]
    let image: FeatureShape

    private struct Builder {
        var entries: [(name: String, shape: [Int], inLayerNormModule: Bool)] = []
        var random: TestRandom

        mutating func conv(_ m: String, _ inputs: Int, _ outputs: Int, kernel: Int, stride: Int, padding: Int, groups: Int = 1, bias: Bool) -> Step {
            entries.append((m + ".weight", [outputs, inputs / groups, kernel, kernel], false))
            if bias { entries.append((m + ".bias", [outputs], false)) }
            return .convolution(m, inputs: inputs, outputs: outputs, kernel: kernel, stride: stride, padding: padding, groups: groups, bias: bias)
        }

        mutating func norm(_ m: String, _ channels: Int) -> Step {
            entries.append((m + ".weight", [channels], true))
            entries.append((m + ".bias", [channels], true))
            return .layerNorm(m, channels, 1e-6)
        }

        mutating func batchNorm(_ m: String, _ channels: Int) -> Step {
            entries.append((m + ".weight", [channels], false))
            entries.append((m + ".bias", [channels], false))
            let mean = (0..<channels).map { _ in Float(0.3 * random.symmetric()) }
            let variance = (0..<channels).map { _ in Float(1 + 0.5 * random.symmetric()) }
            return .batchNorm(m, channels, mean: mean, variance: variance, epsilon: 1e-5)
        }

        mutating func linear(_ m: String, _ inputs: Int, _ outputs: Int) -> Step {
            entries.append((m + ".weight", [outputs, inputs], false))
            entries.append((m + ".bias", [outputs], false))
            return .linear(m, inputs, outputs)
        }

        mutating func convnextBlock(_ m: String, _ width: Int, version2: Bool) -> Step {
            var body = [conv(m + "dwconv", width, width, kernel: 7, stride: 1, padding: 3, groups: width, bias: true),
                        norm(m + "layernorm", width), linear(m + "pwconv1", width, 2 * width), .activation(.gelu)]
            if version2 {
                entries.append((m + "grn.weight", [1, 1, 1, 2 * width], false))
                entries.append((m + "grn.bias", [1, 1, 1, 2 * width], false))
                body.append(.globalResponseNorm(m + "grn", 2 * width))
            }
            body.append(linear(m + "pwconv2", 2 * width, width))
            if !version2 {
                entries.append((m + "layer_scale_parameter", [width], false))
                body.append(.layerScale(m + "layer_scale_parameter"))
            }
            return .residual(body: body, shortcut: [])
        }

        mutating func resnetConv(_ m: String, _ inputs: Int, _ outputs: Int, kernel: Int, stride: Int, relu: Bool) -> [Step] {
            var steps = [conv(m + ".convolution", inputs, outputs, kernel: kernel, stride: stride, padding: kernel / 2, bias: false),
                         batchNorm(m + ".normalization", outputs)]
            if relu { steps.append(.activation(.relu)) }
            return steps
        }
    }

    init(_ family: Family, seed: UInt64) {
        var b = Builder(random: TestRandom(seed: seed))
        var plan: [Step] = []
        let classes = 3
        switch family {
        case .convnextv2, .convnext:
            let v2 = family == .convnextv2
            image = FeatureShape(height: 8, width: 8, channels: 3)
            plan.append(b.conv("stem", 3, 4, kernel: 2, stride: 2, padding: 0, bias: true))
            plan.append(b.norm("stem.layernorm", 4))
            plan.append(b.convnextBlock("stages.0.layers.0.", 4, version2: v2))
            plan.append(b.norm("stages.1.downsampling_layer.0", 4))
            plan.append(b.conv("stages.1.downsampling_layer.1", 4, 6, kernel: 2, stride: 2, padding: 0, bias: true))
            plan.append(b.convnextBlock("stages.1.layers.0.", 6, version2: v2))
            plan.append(.globalAveragePool)
            plan.append(b.norm("layernorm", 6))
            plan.append(b.linear("classifier", 6, classes))
        case .resnetBasic, .resnetBottleneck:
            image = FeatureShape(height: 12, width: 12, channels: 3)
            plan += b.resnetConv("embedder", 3, 4, kernel: 7, stride: 2, relu: true)
            plan.append(.maxPool(kernel: 3, stride: 2, padding: 1))
            if family == .resnetBasic {
                plan.append(.residual(body: b.resnetConv("s0.layer.0", 4, 4, kernel: 3, stride: 1, relu: true)
                                      + b.resnetConv("s0.layer.1", 4, 4, kernel: 3, stride: 1, relu: false), shortcut: []))
                plan.append(.activation(.relu))
                let shortcut = b.resnetConv("s1.shortcut", 4, 6, kernel: 1, stride: 2, relu: false)
                plan.append(.residual(body: b.resnetConv("s1.layer.0", 4, 6, kernel: 3, stride: 2, relu: true)
                                      + b.resnetConv("s1.layer.1", 6, 6, kernel: 3, stride: 1, relu: false), shortcut: shortcut))
            } else {
                let shortcut = b.resnetConv("s0.shortcut", 4, 8, kernel: 1, stride: 2, relu: false)
                plan.append(.residual(body: b.resnetConv("s0.layer.0", 4, 2, kernel: 1, stride: 1, relu: true)
                                      + b.resnetConv("s0.layer.1", 2, 2, kernel: 3, stride: 2, relu: true)
                                      + b.resnetConv("s0.layer.2", 2, 8, kernel: 1, stride: 1, relu: false), shortcut: shortcut))
            }
            plan.append(.activation(.relu))
            plan.append(.globalAveragePool)
            plan.append(b.linear("classifier", family == .resnetBasic ? 6 : 8, classes))
        }
        let layout = ParameterLayout(b.entries)
        self.layout = layout
        structure = VisionStructure(inputChannels: 3, classes: classes, ops: plan.map { $0.op(layout) })
        var random = b.random
        var theta = (0..<layout.count).map { _ in 0.5 * random.symmetric() }
        // Norm and scale weights near 1, as trained networks have them.
        for p in layout.parameters where p.name.hasSuffix("norm.weight") || p.name.hasSuffix(".0.weight") && p.shape.count == 1
            || p.name.hasSuffix("normalization.weight") {
            for i in p.range { theta[i] += 1 }
        }
        self.theta = theta
    }

    /// `images` random channels-last images.
    func pixels(images: Int, seed: UInt64) -> Tensor<Float> {
        var random = TestRandom(seed: seed)
        return Tensor(shape: [images, image.height, image.width, image.channels],
                      scalars: (0..<(images * image.count)).map { _ in Float(random.symmetric()) })
    }

    /// The float64 logits at `theta`, [images, classes].
    func logits(_ theta: [Double], pixels: Tensor<Float>) -> [Double] {
        theta.withUnsafeBufferPointer {
            VisionTape<Double>(structure, pixels: pixels.scalars.map(Double.init), images: pixels.shape[0], shape: image,
                               theta: $0.baseAddress!, keep: false).logits
        }
    }
}
