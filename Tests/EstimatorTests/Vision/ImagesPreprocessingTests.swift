import Base
import Testing
@testable import Estimator

/// `preprocessor_config.json` as transformers' image processors read it, applied to raw images.
@Suite struct ImagesPreprocessingTests {
    private func preprocessing(_ json: String) throws -> ImagePreprocessing {
        try ImagePreprocessing(json: try JSONValue.parse(json), source: "ckpt/preprocessor_config.json")
    }

    @Test func readsRescaleAndPerChannelNormalization() throws {
        let p = try preprocessing(#"{"do_resize": false, "do_rescale": true, "rescale_factor": 0.00392156862745098, "do_normalize": true, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}"#)
        #expect(p.rescaleFactor == Float(1.0 / 255))
        #expect(p.mean == [0.485, 0.456, 0.406] && p.standardDeviation == [0.229, 0.224, 0.225])
        let out = try p.pixelValues(Tensor(shape: [1, 1, 2, 3], scalars: [0, 128, 255, 10, 20, 30]))
        // transformers: x · (1/255) in float64, rounded to float32, then (x − mean) / std in float32.
        let expected = [0, 128, 255, 10, 20, 30].enumerated().map { i, x in
            (Float(Double(x) * 0.00392156862745098) - [Float(0.485), 0.456, 0.406][i % 3]) / [Float(0.229), 0.224, 0.225][i % 3]
        }
        #expect(out.shape == [1, 1, 2, 3] && out.scalars == expected)
    }

    /// Keys left out take ConvNextImageProcessor's defaults: rescale by 1/255, mean = std = 0.5.
    @Test func absentKeysTakeConvNextDefaults() throws {
        let p = try preprocessing(#"{"do_resize": false, "rescale_factor": null}"#)
        #expect(p.rescaleFactor == Float(1.0 / 255) && p.mean == [0.5] && p.standardDeviation == [0.5])
        let out = try p.pixelValues(Tensor(shape: [1, 1, 1, 3], scalars: [0, 255, 51]))
        #expect(out.scalars == [-1, 1, (Float(51.0 / 255) - 0.5) / 0.5])
    }

    @Test func switchedOffStepsAreSkipped() throws {
        let p = try preprocessing(#"{"do_resize": false, "do_rescale": false, "do_normalize": false, "image_mean": "ignored"}"#)
        #expect(p.rescaleFactor == nil && p.mean == nil)
        #expect(try p.pixelValues(Tensor(shape: [1, 1, 1, 2], scalars: [7, 255])).scalars == [7, 255])
        let scalar = try preprocessing(#"{"do_resize": false, "do_rescale": false, "image_mean": 100, "image_std": 2}"#)
        #expect(try scalar.pixelValues(Tensor(shape: [1, 1, 1, 2], scalars: [100, 104])).scalars == [0, 2])
    }

    /// Resizing and cropping are refused when raw images would need them, not when the file is read.
    @Test func resizeOrCropIsRefusedForRawImages() throws {
        for (json, keys) in [(#"{"do_resize": true, "size": {"shortest_edge": 224}}"#, "do_resize: true"),
                             (#"{}"#, "do_resize: true"),
                             (#"{"do_resize": false, "do_center_crop": true}"#, "do_center_crop: true")] {
            let p = try preprocessing(json)
            let error = #expect(throws: EstimatorError.self) { try p.pixelValues(Tensor(shape: [2, 4, 4, 3], scalars: Array(repeating: 0, count: 96))) }
            #expect(error?.code == "eval.unsupported_preprocessing", "\(json)")
            #expect(error?.detail.contains("raw 'images' [2, 4, 4, 3] would be resized or cropped by ckpt/preprocessor_config.json (\(keys))") == true, "\(String(describing: error))")
            #expect(error?.detail.contains("volumed does not resize or crop images: store preprocessed 'pixel_values' [N, C, H, W]") == true)
        }
    }

    @Test func channelListOfAnotherLengthNamesBoth() throws {
        let p = try preprocessing(#"{"do_resize": false, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}"#)
        let error = #expect(throws: EstimatorError.self) { try p.pixelValues(Tensor(shape: [1, 2, 2, 1], scalars: [0, 1, 2, 3])) }
        #expect(error?.code == "eval.preprocessor_channels")
        #expect(error?.detail == "'image_mean' by ckpt/preprocessor_config.json has 3 values; the raw 'images' [1, 2, 2, 1] have 1 channels")
    }

    @Test func rejectsMalformedValues() throws {
        let cases = [
            (#"[1]"#, "preprocessor_config.json is not a JSON object"),
            (#"{"do_rescale": "yes"}"#, #"'do_rescale' is "yes"; expected true or false"#),
            (#"{"rescale_factor": 0}"#, "'rescale_factor' is 0; expected one positive number"),
            (#"{"image_std": [0.5, 0]}"#, "'image_std' has 0.0; expected finite, non-zero numbers"),
            (#"{"image_mean": []}"#, "'image_mean' is []; expected a number or a list of numbers, one per channel"),
        ]
        for (json, detail) in cases {
            let error = #expect(throws: EstimatorError.self) { try preprocessing(json) }
            #expect(error?.code == "checkpoint.bad_preprocessor", "\(json)")
            #expect(error?.detail == "ckpt/preprocessor_config.json: " + detail)
        }
    }

    /// The fixture's raw images through the checkpoint's own preprocessor_config.json are the
    /// pixel values transformers' image processor wrote.
    @Test func rawFixtureImagesMatchTransformersPixelValues() throws {
        let folder = try CheckpointFolder(path: Fixtures.path("vision/convnextv2-small/checkpoint-240"))
        let p = try #require(try folder.imagePreprocessing())
        guard case .images(let raw) = try EvalDataFile(path: Fixtures.path("vision/digits32_eval_images.safetensors")).data,
              case .raw(let images) = raw.pixels,
              case .images(let values) = try EvalDataFile(path: Fixtures.path("vision/digits32_eval.safetensors")).data,
              case .values(let nchw) = values.pixels else { Issue.record("expected raw images and pixel values"); return }
        let computed = try p.pixelValues(images)
        let expected = VisionModel.channelsLast(nchw)
        #expect(computed.shape == expected.shape)
        let worst = zip(computed.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-6, "largest difference \(worst)")
    }
}
