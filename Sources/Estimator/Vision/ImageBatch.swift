/// Eval images, as the file holds them.
public struct ImageBatch: Sendable {
    public enum Pixels: Sendable {
        /// `pixel_values` [N, C, H, W] float32, already preprocessed as the model was trained.
        case values(Tensor<Float>)
        /// `images` [N, H, W, C] uint8, to be preprocessed with the checkpoint's
        /// `preprocessor_config.json` (`ImagePreprocessing`).
        case raw(Tensor<UInt8>)
    }

    public let pixels: Pixels

    public init(_ pixels: Pixels) { self.pixels = pixels }

    public var count: Int {
        switch pixels {
        case .values(let t): t.shape[0]
        case .raw(let t): t.shape[0]
        }
    }

    /// The tensor as the eval file names it, with its shape and layout, for errors:
    /// `'pixel_values' [128, 3, 32, 32] ([N, C, H, W])`.
    public var tensorDescription: String {
        switch pixels {
        case .values(let t): "'pixel_values' \(t.shape) ([N, C, H, W])"
        case .raw(let t): "'images' \(t.shape) ([N, H, W, C])"
        }
    }

    /// (height, width, channels) of one image.
    public var imageShape: FeatureShape {
        switch pixels {
        case .values(let t): FeatureShape(height: t.shape[2], width: t.shape[3], channels: t.shape[1])
        case .raw(let t): FeatureShape(height: t.shape[1], width: t.shape[2], channels: t.shape[3])
        }
    }
}
