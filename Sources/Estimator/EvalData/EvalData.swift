import Hashing
/// The examples the KL cost is measured on.
public enum EvalData: Sendable {
    /// `inputs` [N, d] for MLPs.
    case features(Tensor<Float>)
    /// `input_ids` [N, T] for language models, with an optional `attention_mask` [N, T] of
    /// 0/1 (positions with 0 do not count).
    case tokens(ids: Tensor<Int32>, mask: Tensor<Int32>?)
    /// `pixel_values` or raw `images` for vision models.
    case images(ImageBatch)

    /// N, the number of rows.
    public var exampleCount: Int {
        switch self {
        case .features(let x): x.shape[0]
        case .tokens(let ids, _): ids.shape[0]
        case .images(let batch): batch.count
        }
    }
}

/// An eval data file, loaded and validated, with the fingerprint that identifies its content:
/// exactly one of `input_ids` (with an optional `attention_mask`), `inputs`, `pixel_values` or
/// `images`, and optional `labels`.
public struct EvalDataFile: Sendable {
    public let path: String
    public let data: EvalData
    /// The optional `labels` tensor (integer `[N]`, each ≥ 0): the classes the loss-based
    /// measures (LLC, loss neighbourhoods) score an MLP's rows against. Checked against the
    /// model's class count where it is used.
    public let labels: [Int]?
    /// Hex SHA-256 of the file's bytes.
    public let fingerprint: String

    public init(path: String) throws(CheckpointError) {
        let file = try SafeTensorsFile(path: path)
        func fail(_ code: String, _ detail: String) -> CheckpointError {
            CheckpointError("eval.\(code)", file: path, detail)
        }
        let names = Set(file.tensorNames)
        let inputs = Self.inputNames.filter(names.contains)
        guard inputs.count == 1 else {
            let listed = file.tensorNames.map { "'\($0)'" }.joined(separator: ", ")
            if inputs.isEmpty {
                throw fail("no_inputs", "no 'input_ids' (token ids for language models), 'inputs' (features for MLPs), 'pixel_values' or 'images' (for vision models) tensor; the file has \(listed.isEmpty ? "no tensors" : listed)")
            }
            throw fail("ambiguous", "file has \(inputs.map { "'\($0)'" }.joined(separator: " and ")); keep one (token ids for language models, features for MLPs, pixel values or raw images for vision models)")
        }
        switch inputs[0] {
        case "inputs":
            data = .features(try Self.features(try file.tensor("inputs"), fail))
        case "input_ids":
            let ids = try Self.tokenIDs(try file.tensor("input_ids"), fail)
            let mask = names.contains("attention_mask") ? try Self.mask(try file.tensor("attention_mask"), shape: ids.shape, fail) : nil
            data = .tokens(ids: ids, mask: mask)
        case "pixel_values":
            data = .images(ImageBatch(.values(try Self.pixelValues(try file.tensor("pixel_values"), fail))))
        default:
            data = .images(ImageBatch(.raw(try Self.rawImages(try file.tensor("images"), fail))))
        }
        labels = names.contains("labels") ? try Self.labels(try file.tensor("labels"), rows: data.exampleCount, fail) : nil
        self.path = path
        self.fingerprint = try Self.fingerprint(ofFile: path)
    }

    /// The tensors that can be the eval rows; a file holds exactly one of them.
    static let inputNames = ["input_ids", "inputs", "pixel_values", "images"]

    /// Hex SHA-256 of the file's bytes, read in chunks without parsing them: what identifies
    /// the eval data in every estimate's key.
    public static func fingerprint(ofFile path: String) throws(CheckpointError) -> String {
        var hasher = SHA256()
        try FileSystem.hash(path, into: &hasher, lengthFirst: false)
        return hasher.hexDigest()
    }

    private static func features(_ t: RawTensor, _ fail: (String, String) -> CheckpointError) throws(CheckpointError) -> Tensor<Float> {
        guard t.dtype.isFloatingPoint else {
            throw fail("bad_inputs", "'inputs' is \(t.dtype.rawValue); features must be floating point (F32)")
        }
        guard t.shape.count == 2, t.shape[0] >= 1, t.shape[1] >= 1 else {
            throw fail("bad_inputs", "'inputs' has shape \(t.shape); expected [N, d] with N, d ≥ 1")
        }
        let values = t.floats()
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let d = t.shape[1]
            throw fail("bad_inputs", "'inputs' has non-finite value \(values[bad]) at row \(bad / d), column \(bad % d)")
        }
        return Tensor(shape: t.shape, scalars: values)
    }

    /// `pixel_values` [N, C, H, W] as image processors write them: float32 (float16 and
    /// bfloat16 widened exactly), every value finite.
    private static func pixelValues(_ t: RawTensor, _ fail: (String, String) -> CheckpointError) throws(CheckpointError) -> Tensor<Float> {
        guard t.dtype == .f32 || t.dtype == .f16 || t.dtype == .bf16 else {
            throw fail("bad_pixels", "'pixel_values' is \(t.dtype.rawValue); pixel values must be F32 (or F16, BF16), preprocessed as the model was trained")
        }
        guard t.shape.count == 4, t.shape.allSatisfy({ $0 >= 1 }) else {
            throw fail("bad_pixels", "'pixel_values' has shape \(t.shape); expected [N, C, H, W] (images, channels, height, width) with each ≥ 1")
        }
        let values = [Float](unsafeUninitializedCapacity: t.count) { out, n in
            t.widen(into: out.baseAddress!)
            n = t.count
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
            throw fail("bad_pixels", "'pixel_values' \(t.shape) has non-finite value \(values[bad]) in image \(bad / (c * h * w)), channel \(bad / (h * w) % c), row \(bad / w % h), column \(bad % w)")
        }
        return Tensor(shape: t.shape, scalars: values)
    }

    /// Raw `images` [N, H, W, C] of 0–255 values, as image files decode (channels last).
    private static func rawImages(_ t: RawTensor, _ fail: (String, String) -> CheckpointError) throws(CheckpointError) -> Tensor<UInt8> {
        guard t.dtype == .u8 else {
            throw fail("bad_images", "'images' is \(t.dtype.rawValue); raw images must be U8 [N, H, W, C] (0–255); store preprocessed float images as 'pixel_values' [N, C, H, W]")
        }
        guard t.shape.count == 4, t.shape.allSatisfy({ $0 >= 1 }) else {
            throw fail("bad_images", "'images' has shape \(t.shape); expected [N, H, W, C] (images, height, width, channels) with each ≥ 1")
        }
        return Tensor(shape: t.shape, scalars: Array(t.bytes))
    }

    private static func labels(_ t: RawTensor, rows: Int, _ fail: (String, String) -> CheckpointError) throws(CheckpointError) -> [Int] {
        guard let values = t.integers() else {
            throw fail("bad_labels", "'labels' is \(t.dtype.rawValue); class labels must be integers (I64 or I32)")
        }
        guard t.shape == [rows] else {
            throw fail("bad_labels", "'labels' has shape \(t.shape); expected [\(rows)], one label per eval row")
        }
        if let bad = values.firstIndex(where: { $0 < 0 || $0 > Int64(Int32.max) }) {
            throw fail("bad_labels", "'labels' has invalid class \(values[bad]) at row \(bad)")
        }
        return values.map { Int($0) }
    }

    private static func tokenIDs(_ t: RawTensor, _ fail: (String, String) -> CheckpointError) throws(CheckpointError) -> Tensor<Int32> {
        guard t.dtype == .i64 || t.dtype == .i32, let values = t.integers() else {
            throw fail("bad_ids", "'input_ids' is \(t.dtype.rawValue); token ids must be I64 or I32")
        }
        guard t.shape.count == 2, t.shape[0] >= 1, t.shape[1] >= 1 else {
            throw fail("bad_ids", "'input_ids' has shape \(t.shape); expected [N, T] with N, T ≥ 1")
        }
        if let bad = values.firstIndex(where: { $0 < 0 || $0 > Int64(Int32.max) }) {
            let width = t.shape[1]
            throw fail("bad_ids", "'input_ids' has invalid token id \(values[bad]) at row \(bad / width), position \(bad % width)")
        }
        return Tensor(shape: t.shape, scalars: values.map { Int32($0) })
    }

    private static func mask(_ t: RawTensor, shape: [Int], _ fail: (String, String) -> CheckpointError) throws(CheckpointError) -> Tensor<Int32> {
        guard let values = t.integers() else {
            throw fail("bad_mask", "'attention_mask' is \(t.dtype.rawValue); it must hold integers or booleans")
        }
        guard t.shape == shape else {
            throw fail("bad_mask", "'attention_mask' has shape \(t.shape) but 'input_ids' has \(shape)")
        }
        if let bad = values.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            let width = shape[1]
            throw fail("bad_mask", "'attention_mask' has value \(values[bad]) at row \(bad / width), position \(bad % width); only 0 and 1 are allowed")
        }
        guard values.contains(1) else {
            throw fail("bad_mask", "'attention_mask' masks every position; nothing would be measured")
        }
        return Tensor(shape: shape, scalars: values.map { Int32($0) })
    }
}
