import Base

/// What a checkpoint's `preprocessor_config.json` does to raw uint8 images before the model sees
/// them: x ↦ ((x · rescale) − mean) / std per channel. Resizing and cropping are not done; a file
/// that asks for them is rejected when read.
public struct ImagePreprocessing: Sendable, Equatable {
    /// `rescale_factor` when `do_rescale`, else nil.
    public let rescaleFactor: Float?
    /// `image_mean` / `image_std` per channel when `do_normalize`, else nil.
    public let mean: [Float]?
    public let standardDeviation: [Float]?

    public init(rescaleFactor: Float?, mean: [Float]?, standardDeviation: [Float]?) {
        self.rescaleFactor = rescaleFactor
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Reads `preprocessor_config.json` (`source` names it in errors).
    public init(json: JSONValue, source: String) throws(EstimatorError) {
        throw EstimatorError(code: "internal.unimplemented", "ImagePreprocessing(json:) is not implemented yet")  // images helper
    }

    /// Pixel values channels-last [N, H, W, C] float32 from raw images [N, H, W, C].
    public func pixelValues(_ images: Tensor<UInt8>) throws(EstimatorError) -> Tensor<Float> {
        throw EstimatorError(code: "internal.unimplemented", "ImagePreprocessing.pixelValues is not implemented yet")  // images helper
    }
}

extension CheckpointFolder {
    /// The checkpoint's `preprocessor_config.json` read as `ImagePreprocessing`, nil when absent.
    public func imagePreprocessing() throws(EstimatorError) -> ImagePreprocessing? {
        nil  // CONTRACT STUB — the `images` helper reads the file (and fingerprints it as checkpoint content)
    }
}
