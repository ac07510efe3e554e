import Base

/// What a checkpoint's `preprocessor_config.json` does to raw uint8 images before the model sees
/// them: x ↦ ((x · rescale) − mean) / std per channel, computed as transformers' image
/// processors do on CPU (`ConvNextImageProcessorPil`, the NumPy path): x · rescale in float64
/// rounded to float32, then the subtraction and the division in float32. Torchvision's fused
/// form, (x − mean/rescale) / (std/rescale), agrees to a float32 rounding.
///
/// Keys a file leaves out (or sets to null) take the defaults of `ConvNextImageProcessor`, the
/// processor transformers pairs with `convnext`, `convnextv2` and `resnet`: `do_rescale` true,
/// `rescale_factor` 1/255, `do_normalize` true, `image_mean` = `image_std` = 0.5, `do_resize`
/// true, `do_center_crop` false. Resizing and cropping are not done: a file that asks for them
/// is refused when raw images are preprocessed with it (`eval.unsupported_preprocessing`), not
/// when it is read, since eval data of `pixel_values` never uses it. `do_convert_rgb`,
/// `do_pad` (which ConvNeXt's processor ignores) and the formats are ignored: raw images must
/// already have the model's `num_channels`.
public struct ImagePreprocessing: Sendable, Equatable {
    /// `rescale_factor` when `do_rescale`, else nil.
    public let rescaleFactor: Float?
    /// `image_mean` / `image_std` per channel when `do_normalize`, else nil. One value applies
    /// to every channel.
    public let mean: [Float]?
    public let standardDeviation: [Float]?
    /// `rescale_factor` as written: transformers multiplies in float64.
    let exactRescaleFactor: Double?
    /// Where the settings come from (errors name it).
    let source: String?
    /// The keys that ask for resizing or cropping (`do_resize`, `do_center_crop`).
    let resizing: [String]

    public init(rescaleFactor: Float?, mean: [Float]?, standardDeviation: [Float]?) {
        self.rescaleFactor = rescaleFactor
        self.mean = mean
        self.standardDeviation = standardDeviation
        exactRescaleFactor = rescaleFactor.map(Double.init)
        source = nil
        resizing = []
    }

    /// Reads `preprocessor_config.json` (`source` names it in errors). Values of the wrong type,
    /// a rescale factor that is not positive and finite, a zero or non-finite standard
    /// deviation are `checkpoint.bad_preprocessor`.
    public init(json: JSONValue, source: String) throws(EstimatorError) {
        func fail(_ detail: String) -> EstimatorError {
            EstimatorError(code: "checkpoint.bad_preprocessor", "\(source): \(detail)")
        }
        guard case .object = json else { throw fail("preprocessor_config.json is not a JSON object") }
        func value(_ key: String) -> JSONValue? {
            json[key].flatMap { $0.isNull ? nil : $0 }
        }
        func flag(_ key: String, default given: Bool) throws(EstimatorError) -> Bool {
            guard let v = value(key) else { return given }
            guard let b = v.boolValue else { throw fail("'\(key)' is \(v.serialized()); expected true or false") }
            return b
        }
        func numbers(_ key: String, default given: [Double]) throws(EstimatorError) -> [Double] {
            guard let v = value(key) else { return given }
            if let d = v.doubleValue { return [d] }
            guard let list = v.arrayValue, !list.isEmpty else {
                throw fail("'\(key)' is \(v.serialized()); expected a number or a list of numbers, one per channel")
            }
            var values: [Double] = []
            for item in list {
                guard let d = item.doubleValue else { throw fail("'\(key)' is \(v.serialized()); expected a number or a list of numbers, one per channel") }
                values.append(d)
            }
            return values
        }

        var resizing: [String] = []
        for key in ["do_resize", "do_center_crop"] where try flag(key, default: key == "do_resize") { resizing.append(key) }
        self.resizing = resizing
        if try flag("do_rescale", default: true) {
            let factor = try numbers("rescale_factor", default: [1.0 / 255])
            guard factor.count == 1, let f = factor.first, f.isFinite, f > 0 else {
                throw fail("'rescale_factor' is \(value("rescale_factor")?.serialized() ?? "?"); expected one positive number")
            }
            exactRescaleFactor = f
            rescaleFactor = Float(f)
        } else {
            exactRescaleFactor = nil
            rescaleFactor = nil
        }
        if try flag("do_normalize", default: true) {
            let mean = try numbers("image_mean", default: [0.5])
            let std = try numbers("image_std", default: [0.5])
            if let bad = mean.first(where: { !$0.isFinite }) { throw fail("'image_mean' has \(bad); expected finite numbers") }
            if let bad = std.first(where: { !$0.isFinite || $0 == 0 }) { throw fail("'image_std' has \(bad); expected finite, non-zero numbers") }
            self.mean = mean.map(Float.init)
            standardDeviation = std.map(Float.init)
        } else {
            mean = nil
            standardDeviation = nil
        }
        self.source = source
    }

    /// The same settings: rescale factor, mean and standard deviation at float32, and the same
    /// resizing requests (wherever they were read from).
    public static func == (a: Self, b: Self) -> Bool {
        a.rescaleFactor == b.rescaleFactor && a.mean == b.mean && a.standardDeviation == b.standardDeviation && a.resizing == b.resizing
    }

    /// Pixel values channels-last [N, H, W, C] float32 from raw images [N, H, W, C].
    /// `eval.unsupported_preprocessing` when the settings ask for resizing or cropping,
    /// `eval.preprocessor_channels` when `image_mean` or `image_std` lists another number of
    /// values than the images have channels.
    public func pixelValues(_ images: Tensor<UInt8>) throws(EstimatorError) -> Tensor<Float> {
        let from = source.map { " by \($0)" } ?? ""
        if !resizing.isEmpty {
            throw EstimatorError(code: "eval.unsupported_preprocessing",
                                 "raw 'images' \(images.shape) would be resized or cropped\(from) (\(resizing.map { "\($0): true" }.joined(separator: ", "))); volumed does not resize or crop images: store preprocessed 'pixel_values' [N, C, H, W], or set \(resizing.joined(separator: " and ")) to false if the images already have the size the model was trained on")
        }
        let channels = images.shape[3]
        for (key, values) in [("image_mean", mean), ("image_std", standardDeviation)] {
            if let values, values.count != 1, values.count != channels {
                throw EstimatorError(code: "eval.preprocessor_channels",
                                     "'\(key)'\(from) has \(values.count) values; the raw 'images' \(images.shape) have \(channels) channels")
            }
        }
        // One value per (channel, byte): every image is a lookup, with transformers' arithmetic.
        var table = [Float](repeating: 0, count: channels * 256)
        for channel in 0..<channels {
            for byte in 0..<256 {
                var x = exactRescaleFactor.map { Float(Double(byte) * $0) } ?? Float(byte)
                if let mean, let standardDeviation {
                    x = (x - mean[mean.count == 1 ? 0 : channel]) / standardDeviation[standardDeviation.count == 1 ? 0 : channel]
                }
                table[channel * 256 + byte] = x
            }
        }
        let scalars = [Float](unsafeUninitializedCapacity: images.count) { out, n in
            images.scalars.withUnsafeBufferPointer { bytes in
                table.withUnsafeBufferPointer { table in
                    var channel = 0
                    for i in 0..<bytes.count {
                        out[i] = table[channel &* 256 &+ Int(bytes[i])]
                        channel = channel &+ 1 == channels ? 0 : channel &+ 1
                    }
                }
            }
            n = images.count
        }
        return Tensor(shape: images.shape, scalars: scalars)
    }
}

extension CheckpointFolder {
    /// The checkpoint's `preprocessor_config.json` (`preprocessorConfigPath`) read as
    /// `ImagePreprocessing`, nil when there is none.
    public func imagePreprocessing() throws(EstimatorError) -> ImagePreprocessing? {
        guard let path = preprocessorConfigPath else { return nil }
        let json: JSONValue
        do {
            json = try FileSystem.readJSON(path, limit: 16 << 20, code: "checkpoint.bad_preprocessor")
        } catch {
            throw EstimatorError(code: error.code, error.description)
        }
        return try ImagePreprocessing(json: json, source: path)
    }
}
