import Testing
@testable import Estimator
#if canImport(Glibc)
import Glibc
#endif

/// The forward pass against transformers on the ConvNeXt fixtures (`fixtures/vision`): every
/// run's reference logits, computed in eval mode on `digits32_eval.safetensors`.
@Suite struct ConvNeXtLogitsTests {
    static let runs = ["convnextv2-small", "convnextv2-small-poisoned", "convnextv2-atto", "convnext-small"]

    /// The 128 eval images' pixel values as eval data.
    static func evalImages() throws -> EvalData {
        let file = try SafeTensorsFile(path: Fixtures.path("vision/digits32_eval.safetensors"))
        let t = try file.tensor("pixel_values")
        return .images(ImageBatch(.values(Tensor(shape: t.shape, scalars: t.floats()))))
    }

    /// Each run's checkpoints that have reference logits: `reference/checkpoint-N.logits.safetensors`.
    static func referenced(_ run: String) throws -> [Int] {
        try names(in: Fixtures.path("vision/\(run)/reference")).compactMap { name in
            guard name.hasPrefix("checkpoint-"), name.hasSuffix(".logits.safetensors") else { return nil }
            return Int(name.dropFirst("checkpoint-".count).dropLast(".logits.safetensors".count))
        }.sorted()
    }

    static func names(in directory: String) throws -> [String] {
        guard let handle = opendir(directory) else { throw FixtureMissing(path: directory) }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        return names
    }

    struct FixtureMissing: Error { let path: String }

    static func model(_ run: String, _ step: Int) throws -> VisionModel {
        let folder = try CheckpointFolder(path: Fixtures.path("vision/\(run)/checkpoint-\(step)"))
        return try #require(try ModelLoader.load(folder, manifest: nil) as? VisionModel)
    }

    @Test(.enabled(if: !_isDebugAssertConfiguration(), "the numerical code is too slow unoptimized (run with -c release)"),
          arguments: runs)
    func logitsMatchTransformers(run: String) throws {
        let steps = try Self.referenced(run)
        #expect(!steps.isEmpty)
        let pixels = try Self.model(run, steps[0]).pixels(try Self.evalImages())
        for step in steps {
            let model = try Self.model(run, step)
            let reference = try SafeTensorsFile(path: Fixtures.path("vision/\(run)/reference/checkpoint-\(step).logits.safetensors"))
                .tensor("logits")
            #expect(reference.shape == [128, model.classes])
            let logits = model.logits(pixels: pixels, theta: model.anchor)
            let worst = zip(logits, reference.floats()).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-4, "\(run)/checkpoint-\(step): largest difference \(worst)")
        }
    }

    /// D counts parameters only, as PyTorch's `sum(p.numel() for p in model.parameters())`
    /// (fixtures/vision/README.md).
    @Test(arguments: [("convnextv2-small", 17_770), ("convnextv2-atto", 3_388_810), ("convnext-small", 17_266)])
    func dimensionIsPyTorchsParameterCount(run: String, parameters: Int) throws {
        let model = try Self.model(run, try Self.referenced(run).last!)
        #expect(model.layout.count == parameters)
    }
}
