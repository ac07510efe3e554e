import Foundation
import Testing
@testable import Estimator

/// A vision checkpoint's `preprocessor_config.json`: content of the checkpoint (fingerprinted,
/// watched), read as its `ImagePreprocessing`, and the eval images checked against the model.
@Suite struct ImagesCheckpointTests {
    static let checkpoint = Fixtures.path("vision/convnextv2-small/checkpoint-240")

    /// A copy of the fixture checkpoint at `run/checkpoint-240` in `dir`.
    private func copy(into dir: TemporaryDirectory) throws -> String {
        let folder = try dir.makeFolder("run/checkpoint-240")
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.checkpoint) {
            try FileManager.default.copyItem(atPath: Self.checkpoint + "/" + name, toPath: folder + "/" + name)
        }
        return folder
    }

    @Test func preprocessorConfigIsFingerprintedContent() throws {
        let dir = try TemporaryDirectory()
        let path = try copy(into: dir)
        let folder = try CheckpointFolder(path: path)
        #expect(folder.contentFileNames == ["config.json", "model.safetensors", "optimizer.pt", "preprocessor_config.json"])
        #expect(folder.preprocessorConfigPath == path + "/preprocessor_config.json")
        #expect(CheckpointLayout.isContentFileName("preprocessor_config.json"))
        let before = try folder.fingerprint()

        // Normalizing otherwise measures other pixel values: another checkpoint.
        let edited = try String(contentsOfFile: path + "/preprocessor_config.json", encoding: .utf8)
            .replacingOccurrences(of: "\"do_normalize\": true", with: "\"do_normalize\": false")
        try dir.write("run/checkpoint-240/preprocessor_config.json", edited)
        let after = try CheckpointFolder(path: path)
        #expect(try after.fingerprint() != before)
        #expect(try after.imagePreprocessing()?.mean == nil)

        try FileManager.default.removeItem(atPath: path + "/preprocessor_config.json")
        let without = try CheckpointFolder(path: path)
        #expect(without.contentFileNames == ["config.json", "model.safetensors", "optimizer.pt"])
        #expect(try without.fingerprint() != before)
        #expect(try without.imagePreprocessing() == nil)
    }

    /// A single-file checkpoint takes the run folder's preprocessor_config.json as a setting
    /// (like the run's config.json): read, not fingerprinted.
    @Test func singleFileTakesTheRunFoldersPreprocessorConfig() throws {
        let dir = try TemporaryDirectory()
        try dir.write("run/config.json", try readBytes(Self.checkpoint + "/config.json"))
        let file = try dir.write("run/step-240.safetensors", try readBytes(Self.checkpoint + "/model.safetensors"))
        let before = try CheckpointFolder(path: file).fingerprint()
        try dir.write("run/preprocessor_config.json", #"{"do_resize": false, "do_normalize": false}"#)
        let folder = try CheckpointFolder(path: file)
        #expect(folder.preprocessorConfigPath == dir.path + "/run/preprocessor_config.json")
        #expect(folder.contentFileNames == ["step-240.safetensors"])
        #expect(try folder.fingerprint() == before)
        #expect(try folder.imagePreprocessing() == ImagePreprocessing(rescaleFactor: Float(1.0 / 255), mean: nil, standardDeviation: nil))
    }

    @Test func badPreprocessorConfigFailsTheLoadNamingTheFile() throws {
        let dir = try TemporaryDirectory()
        let path = try copy(into: dir)
        try dir.write("run/checkpoint-240/preprocessor_config.json", #"{"image_mean": "half"}"#)
        let error = #expect(throws: EstimatorError.self) { try CheckpointFolder(path: path).imagePreprocessing() }
        #expect(error?.code == "checkpoint.bad_preprocessor")
        #expect(error?.detail == path + #"/preprocessor_config.json: 'image_mean' is "half"; expected a number or a list of numbers, one per channel"#)
    }

    private func model(preprocessing: Bool = true) throws -> VisionModel {
        let model = try #require(try ModelLoader.load(CheckpointFolder(path: Self.checkpoint), manifest: nil) as? VisionModel)
        return preprocessing ? model : VisionModel(architecture: model.architecture, layout: model.layout, anchor: model.anchor,
                                                   structure: model.structure, preprocessing: nil)
    }

    @Test func loadedModelCarriesTheCheckpointsPreprocessing() throws {
        let model = try model()
        #expect(model.architecture == "convnextv2")
        #expect(model.preprocessing == ImagePreprocessing(rescaleFactor: Float(1.0 / 255), mean: [0.5, 0.5, 0.5], standardDeviation: [0.5, 0.5, 0.5]))
        let raw = EvalData.images(ImageBatch(.raw(Tensor(shape: [1, 32, 32, 3], scalars: Array(repeating: 255, count: 3072)))))
        let pixels = try model.pixels(raw)
        #expect(pixels.shape == [1, 32, 32, 3] && pixels.scalars.allSatisfy { $0 == 1 })
    }

    @Test func otherChannelCountNamesBoth() throws {
        let model = try model()
        for batch in [ImageBatch(.raw(Tensor(shape: [2, 32, 32, 1], scalars: Array(repeating: 0, count: 2048)))),
                      ImageBatch(.values(Tensor(shape: [2, 32, 32, 3], scalars: Array(repeating: 0, count: 6144))))] {
            let error = #expect(throws: EstimatorError.self) { try model.pixels(.images(batch)) }
            #expect(error?.code == "eval.channels")
            #expect(error?.detail.contains(batch.tensorDescription) == true, "\(String(describing: error))")
            #expect(error?.detail.contains("have \(batch.imageShape.channels) channels; this convnextv2 model takes 3 (num_channels)") == true)
        }
    }

    @Test func rawImagesWithoutPreprocessorAreRefused() throws {
        let model = try model(preprocessing: false)
        let raw = EvalData.images(ImageBatch(.raw(Tensor(shape: [1, 32, 32, 3], scalars: Array(repeating: 0, count: 3072)))))
        let error = #expect(throws: EstimatorError.self) { try model.pixels(raw) }
        #expect(error?.code == "eval.no_preprocessor")
        #expect(error?.detail.contains("preprocessor_config.json") == true)
    }

    /// `volumed estimate` and the daemon load image eval data through `EvalDataSet`; its
    /// provenance counts images and the values in one.
    @Test func evalDataSetReadsImageFiles() throws {
        for name in ["digits32_eval.safetensors", "digits32_eval_images.safetensors"] {
            let spec = EvalDataSpec(form: try EvalDataSpec.form(ofFile: Fixtures.path("vision/" + name)), file: Fixtures.path("vision/" + name))
            let set = try EvalDataSet(spec: spec, runFolder: Fixtures.path("vision/convnextv2-small"), checkpoint: try CheckpointFolder(path: Self.checkpoint))
            #expect(set.provenance.rows == 128 && set.provenance.rowLength == 3072, "\(name)")
            #expect(set.provenance.form == .tensors && set.labels?.count == 128)
            #expect(set.fingerprint == (try EvalDataFile.fingerprint(ofFile: Fixtures.path("vision/" + name))))
        }
    }
}
