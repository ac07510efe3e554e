import Base

/// An image classifier (ConvNeXt V1/V2, ResNet) at its anchor θ0. Its KL cost is averaged over
/// the eval images, each image's distribution over the classes.
public struct VisionModel: Model {
    /// `convnextv2`, `convnext`, `resnet` (the config's `model_type`).
    public let architecture: String
    public let layout: ParameterLayout
    public let anchor: [Float]
    public let structure: VisionStructure
    /// From the checkpoint's `preprocessor_config.json`; needed only for raw `images`.
    public let preprocessing: ImagePreprocessing?

    public static let architectures = ["convnextv2", "convnext", "resnet"]

    public init(architecture: String, layout: ParameterLayout, anchor: [Float], structure: VisionStructure, preprocessing: ImagePreprocessing?) {
        self.architecture = architecture
        self.layout = layout
        self.anchor = anchor
        self.structure = structure
        self.preprocessing = preprocessing
    }

    public static func load(architecture: String, config: JSONValue, configSource: String, preprocessing: ImagePreprocessing?,
                            weights: any TensorStore) throws(EstimatorError) -> VisionModel {
        let built: (VisionStructure, ParameterLayout, [Float])
        switch architecture {
        case "convnextv2": built = try ConvNeXt.load(version2: true, config: config, configSource: configSource, weights: weights)
        case "convnext": built = try ConvNeXt.load(version2: false, config: config, configSource: configSource, weights: weights)
        case "resnet": built = try ResNet.load(config: config, configSource: configSource, weights: weights)
        default: preconditionFailure("not a vision architecture: \(architecture)")
        }
        return VisionModel(architecture: architecture, layout: built.1, anchor: built.2, structure: built.0, preprocessing: preprocessing)
    }

    public var classes: Int { structure.classes }

    /// The eval images as channels-last pixel values [N, H, W, C], checked against the model:
    /// the channel count must be `num_channels`, raw images need `preprocessing`, and every
    /// image must be large enough for the network's windows.
    public func pixels(_ data: EvalData) throws(EstimatorError) -> Tensor<Float> {
        guard case .images(let batch) = data else {
            throw EstimatorError(code: "eval.kind", "a vision model (\(architecture)) needs eval data with 'pixel_values' [N, C, H, W] or 'images' [N, H, W, C]")
        }
        let shape = batch.imageShape
        guard shape.channels == structure.inputChannels else {
            throw EstimatorError(code: "eval.channels",
                                 "the eval images \(batch.tensorDescription) have \(shape.channels) channels; this \(architecture) model takes \(structure.inputChannels) (num_channels)")
        }
        guard structure.output(height: shape.height, width: shape.width) != nil else {
            throw EstimatorError(code: "eval.image_size",
                                 "the eval images \(batch.tensorDescription) are \(shape.height)×\(shape.width); too small for this \(architecture) model's convolutions and pooling")
        }
        switch batch.pixels {
        case .values(let nchw):
            return Self.channelsLast(nchw)
        case .raw(let images):
            guard let preprocessing else {
                throw EstimatorError(code: "eval.no_preprocessor",
                                     "raw 'images' need the checkpoint's preprocessor_config.json (rescale and normalization), and there is none; store preprocessed 'pixel_values' instead")
            }
            return try preprocessing.pixelValues(images)
        }
    }

    /// [N, C, H, W] → [N, H, W, C].
    static func channelsLast(_ t: Tensor<Float>) -> Tensor<Float> {
        let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        var out = [Float](repeating: 0, count: t.count)
        t.scalars.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                for image in 0..<n {
                    for channel in 0..<c {
                        let plane = x.baseAddress! + (image * c + channel) * h * w
                        let base = y.baseAddress! + image * h * w * c + channel
                        for p in 0..<(h * w) { base[p * c] = plane[p] }
                    }
                }
            }
        }
        return Tensor(shape: [n, h, w, c], scalars: out)
    }
}
