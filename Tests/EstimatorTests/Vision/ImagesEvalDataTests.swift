import Testing
@testable import Estimator

/// A safetensors file of the given tensors (name, dtype, shape, little-endian bytes).
func imageEvalFile(_ tensors: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])]) -> [UInt8] {
    var offset = 0
    var entries: [String] = []
    for t in tensors {
        entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":\(t.shape),\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
        offset += t.bytes.count
    }
    return safetensorsBytes(header: "{" + entries.joined(separator: ",") + "}", data: tensors.flatMap(\.bytes))
}

/// Image eval files: `pixel_values` [N, C, H, W] or raw `images` [N, H, W, C], checked when read.
@Suite struct ImagesEvalDataTests {
    private func read(_ tensors: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])]) throws -> (TemporaryDirectory, String) {
        let dir = try TemporaryDirectory()
        return (dir, try dir.write("eval.safetensors", imageEvalFile(tensors)))
    }

    @Test func readsPixelValuesAndLabels() throws {
        let values: [Float] = (0..<12).map { Float($0) / 4 - 1 }
        let (dir, path) = try read([("pixel_values", "F32", [2, 3, 2, 1], littleEndianBytes(values)),
                                    ("labels", "I64", [2], le64(7) + le64(0))])
        _ = dir
        let file = try EvalDataFile(path: path)
        guard case .images(let batch) = file.data, case .values(let t) = batch.pixels else { Issue.record("expected pixel values"); return }
        #expect(t.shape == [2, 3, 2, 1] && t.scalars == values)
        #expect(batch.count == 2 && batch.imageShape == FeatureShape(height: 2, width: 1, channels: 3))
        #expect(file.labels == [7, 0])
    }

    @Test func widensHalfPrecisionPixelValues() throws {
        // 1.0, -0.5 as float16 (0x3C00, 0xB800) and as bfloat16 (0x3F80, 0xBF00).
        for (dtype, bits) in [("F16", [UInt16(0x3C00), 0xB800]), ("BF16", [UInt16(0x3F80), 0xBF00])] {
            let (dir, path) = try read([("pixel_values", dtype, [1, 1, 1, 2], bits.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) })])
            _ = dir
            guard case .images(let batch) = try EvalDataFile(path: path).data, case .values(let t) = batch.pixels else { Issue.record("not pixel values: \(dtype)"); continue }
            #expect(t.scalars == [1, -0.5], "\(dtype)")
        }
    }

    @Test func readsRawImages() throws {
        let (dir, path) = try read([("images", "U8", [1, 2, 2, 3], Array(0..<12))])
        _ = dir
        guard case .images(let batch) = try EvalDataFile(path: path).data, case .raw(let t) = batch.pixels else { Issue.record("expected raw images"); return }
        #expect(t.shape == [1, 2, 2, 3] && t.scalars == Array(0..<12))
        #expect(batch.imageShape == FeatureShape(height: 2, width: 2, channels: 3))
        #expect(batch.tensorDescription == "'images' [1, 2, 2, 3] ([N, H, W, C])")
    }

    @Test func rejectsBadImageFiles() throws {
        let cases: [([(name: String, dtype: String, shape: [Int], bytes: [UInt8])], String, String)] = [
            ([("pixel_values", "F32", [2, 3, 4], littleEndianBytes(Array(repeating: 0, count: 24)))], "eval.bad_pixels",
             "'pixel_values' has shape [2, 3, 4]; expected [N, C, H, W] (images, channels, height, width) with each ≥ 1"),
            ([("pixel_values", "F32", [0, 3, 2, 2], [])], "eval.bad_pixels",
             "'pixel_values' has shape [0, 3, 2, 2]; expected [N, C, H, W] (images, channels, height, width) with each ≥ 1"),
            ([("pixel_values", "F64", [1, 1, 1, 1], Array(repeating: 0, count: 8))], "eval.bad_pixels",
             "'pixel_values' is F64; pixel values must be F32 (or F16, BF16), preprocessed as the model was trained"),
            ([("pixel_values", "F32", [2, 3, 2, 2], littleEndianBytes((0..<24).map { $0 == 19 ? .infinity : 0 }))], "eval.bad_pixels",
             "'pixel_values' [2, 3, 2, 2] has non-finite value inf in image 1, channel 1, row 1, column 1"),
            ([("images", "F32", [1, 2, 2, 3], littleEndianBytes(Array(repeating: 0, count: 12)))], "eval.bad_images",
             "'images' is F32; raw images must be U8 [N, H, W, C] (0–255); store preprocessed float images as 'pixel_values' [N, C, H, W]"),
            ([("images", "U8", [4, 32, 32], Array(repeating: 0, count: 4096))], "eval.bad_images",
             "'images' has shape [4, 32, 32]; expected [N, H, W, C] (images, height, width, channels) with each ≥ 1"),
            ([("images", "U8", [1, 1, 1, 1], [0]), ("pixel_values", "F32", [1, 1, 1, 1], littleEndianBytes([0]))], "eval.ambiguous",
             "file has 'pixel_values' and 'images'; keep one (token ids for language models, features for MLPs, pixel values or raw images for vision models)"),
            ([("pixel_values", "F32", [2, 1, 1, 1], littleEndianBytes([0, 0])), ("labels", "I64", [3], le64(0) + le64(1) + le64(2))], "eval.bad_labels",
             "'labels' has shape [3]; expected [2], one label per eval row"),
            ([("labels", "I64", [1], le64(0))], "eval.no_inputs",
             "no 'input_ids' (token ids for language models), 'inputs' (features for MLPs), 'pixel_values' or 'images' (for vision models) tensor; the file has 'labels'"),
        ]
        for (tensors, code, detail) in cases {
            let (dir, path) = try read(tensors)
            _ = dir
            let error = #expect(throws: CheckpointError.self) { try EvalDataFile(path: path) }
            #expect(error?.code == code, "\(tensors.map(\.name))")
            #expect(error?.detail == detail)
            #expect(error?.file == path)
        }
    }

    /// A copy cut off inside its tensor data fails when opened, naming the file, the bytes
    /// there are and the tensor's shape.
    @Test func truncatedImageFileNamesFileBytesAndShape() throws {
        let dir = try TemporaryDirectory()
        let whole = try readBytes(Fixtures.path("vision/digits32_eval.safetensors"))
        let path = try dir.write("digits32_eval.safetensors", Array(whole.prefix(whole.count / 2)))
        let error = #expect(throws: CheckpointError.self) { try EvalDataFile(path: path) }
        #expect(error?.code == "safetensors.bad_offsets")
        #expect(error?.description.hasPrefix(path + ": tensor '") == true, "\(String(describing: error))")
        #expect(error?.detail.contains("-byte data section") == true)
        #expect(error?.detail.contains("truncated?") == true)
        #expect(error?.detail.contains("F32 [128, 3, 32, 32]") == true || error?.detail.contains("I64 [128]") == true, "\(String(describing: error))")
    }

    @Test func fixtureFilesHoldTheSameImages() throws {
        let values = try EvalDataFile(path: Fixtures.path("vision/digits32_eval.safetensors"))
        let raw = try EvalDataFile(path: Fixtures.path("vision/digits32_eval_images.safetensors"))
        guard case .images(let a) = values.data, case .images(let b) = raw.data else { Issue.record("expected images"); return }
        #expect(a.count == 128 && b.count == 128)
        #expect(a.imageShape == FeatureShape(height: 32, width: 32, channels: 3) && a.imageShape == b.imageShape)
        #expect(values.labels == raw.labels && values.labels?.count == 128)
    }
}
