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

/// An eval data file, loaded and validated, with the fingerprint that identifies its content.
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
        switch (names.contains("input_ids"), names.contains("inputs")) {
        case (true, true):
            throw fail("ambiguous", "file has both 'input_ids' and 'inputs'; keep one (token ids for language models, features for MLPs)")
        case (false, false):
            throw fail("no_inputs", "no 'input_ids' (token ids for language models) or 'inputs' (features for MLPs) tensor; the file has \(file.tensorNames.map { "'\($0)'" }.joined(separator: ", "))")
        case (false, true):
            data = .features(try Self.features(try file.tensor("inputs"), fail))
        case (true, false):
            let ids = try Self.tokenIDs(try file.tensor("input_ids"), fail)
            let mask = names.contains("attention_mask") ? try Self.mask(try file.tensor("attention_mask"), shape: ids.shape, fail) : nil
            data = .tokens(ids: ids, mask: mask)
        }
        labels = names.contains("labels") ? try Self.labels(try file.tensor("labels"), rows: data.exampleCount, fail) : nil
        self.path = path
        self.fingerprint = try Self.fingerprint(ofFile: path)
    }

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
