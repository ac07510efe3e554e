/// A vision classifier as a list of `VisionOp`s from pixel values (channels-last,
/// [images, height, width, inputChannels]) to logits ([images, 1, 1, classes]).
public struct VisionStructure: Sendable {
    public let inputChannels: Int
    public let classes: Int
    public let ops: [VisionOp]

    public init(inputChannels: Int, classes: Int, ops: [VisionOp]) {
        self.inputChannels = inputChannels
        self.classes = classes
        self.ops = ops
    }

    /// The shape after every op of `ops` for one image of `height` × `width`; nil when the image
    /// is too small for some convolution or pooling.
    public func output(height: Int, width: Int) -> FeatureShape? {
        FeatureShape(height: height, width: width, channels: inputChannels).after(ops)
    }
}

/// The shape of one image's activations, channels-last.
public struct FeatureShape: Sendable, Equatable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    public var count: Int { height * width * channels }
    public var positions: Int { height * width }
    public var description: String { "\(height)×\(width)×\(channels)" }

    /// The shape after `ops`, nil when some window does not fit.
    public func after(_ ops: [VisionOp]) -> FeatureShape? {
        var shape = self
        for op in ops {
            guard let next = shape.after(op) else { return nil }
            shape = next
        }
        return shape
    }

    public func after(_ op: VisionOp) -> FeatureShape? {
        switch op {
        case .convolution(let c):
            let h = c.outputSize(height), w = c.outputSize(width)
            guard channels == c.inputs, h >= 1, w >= 1 else { return nil }
            return FeatureShape(height: h, width: w, channels: c.outputs)
        case .layerNorm, .batchNorm, .globalResponseNorm, .activation, .layerScale:
            return self
        case .maxPool(let kernel, let stride, let padding):
            let h = (height + 2 * padding - kernel) / stride + 1, w = (width + 2 * padding - kernel) / stride + 1
            guard h >= 1, w >= 1 else { return nil }
            return FeatureShape(height: h, width: w, channels: channels)
        case .globalAveragePool:
            return FeatureShape(height: 1, width: 1, channels: channels)
        case .linear(let l):
            guard channels == l.inputs else { return nil }
            return FeatureShape(height: height, width: width, channels: l.outputs)
        case .residual(let body, let shortcut):
            guard let a = after(body), let b = after(shortcut), a == b else { return nil }
            return a
        }
    }
}
