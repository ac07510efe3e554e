import Base
import Testing
@testable import Estimator

/// The ResNet builder on models written by transformers (`fixtures/vision/resnet-*`), and the
/// forward pass against transformers' eval-mode logits.
@Suite struct ResNetModelTests {
    static let step = 240

    static func model(_ run: String) throws -> VisionModel {
        let folder = try CheckpointFolder(path: Fixtures.path("vision/\(run)/checkpoint-\(step)"))
        return try #require(try ModelLoader.load(folder, manifest: nil) as? VisionModel)
    }

    static func pixels() throws -> Tensor<Float> {
        let file = try SafeTensorsFile(path: Fixtures.path("vision/digits32_eval.safetensors"))
        return VisionModel.channelsLast(try file.tensor("pixel_values").floatTensor())
    }

    static func reference(_ run: String) throws -> [Float] {
        try SafeTensorsFile(path: Fixtures.path("vision/\(run)/reference/checkpoint-\(step).logits.safetensors")).tensor("logits").floats()
    }

    /// `named_parameters()` of transformers' `ResNetForImageClassification` with basic layers,
    /// embedding 8, widths 8/16/24/32, one layer per stage: 32,642 parameters.
    @Test func basicModelHasTransformersParametersInOrder() throws {
        let model = try Self.model("resnet-small")
        #expect(model.architecture == "resnet")
        #expect(model.layout.count == 32_642)
        var expected = ["resnet.embedder.embedder.convolution.weight",
                        "resnet.embedder.embedder.normalization.weight", "resnet.embedder.embedder.normalization.bias"]
        for stage in 0..<4 {
            let layer = "resnet.encoder.stages.\(stage).layers.0."
            // Stage 0 keeps width and stride: no shortcut. The shortcut is registered first.
            let modules = (stage == 0 ? [] : ["shortcut"]) + ["layer.0", "layer.1"]
            for module in modules {
                expected += ["convolution.weight", "normalization.weight", "normalization.bias"].map { layer + module + "." + $0 }
            }
        }
        expected += ["classifier.1.weight", "classifier.1.bias"]
        #expect(model.layout.parameters.map(\.name) == expected)
        #expect(model.layout["resnet.encoder.stages.1.layers.0.layer.0.convolution.weight"]?.shape == [16, 8, 3, 3])
        #expect(model.layout["resnet.encoder.stages.3.layers.0.shortcut.convolution.weight"]?.shape == [32, 24, 1, 1])
        #expect(model.structure.classes == 10 && model.structure.inputChannels == 3)
    }

    /// Bottleneck layers (a quarter of the width inside), widths 16/32/48/64: 15,442 parameters,
    /// every stage with a shortcut (stage 0 widens 8 → 16).
    @Test func bottleneckModelHasTransformersParametersInOrder() throws {
        let model = try Self.model("resnet-bottleneck")
        #expect(model.layout.count == 15_442)
        let names = model.layout.parameters.map(\.name)
        #expect(names.count == 53)
        #expect(names[3] == "resnet.encoder.stages.0.layers.0.shortcut.convolution.weight")
        #expect(names[6] == "resnet.encoder.stages.0.layers.0.layer.0.convolution.weight")
        #expect(names[12] == "resnet.encoder.stages.0.layers.0.layer.2.convolution.weight")
        #expect(names.suffix(2) == ["classifier.1.weight", "classifier.1.bias"])
        #expect(model.layout["resnet.encoder.stages.2.layers.0.layer.1.convolution.weight"]?.shape == [12, 12, 3, 3])
        #expect(model.layout["resnet.encoder.stages.3.layers.0.layer.2.convolution.weight"]?.shape == [64, 16, 1, 1])
        // BatchNorm's running statistics are buffers, not parameters.
        #expect(!names.contains { $0.contains("running") || $0.contains("num_batches_tracked") })
    }

    /// The kernels chained by a plain test forward reproduce transformers' logits: checks the
    /// kernels and the builder (strides, paddings, activations, eps) before the engine exists.
    @Test(arguments: ["resnet-small", "resnet-bottleneck"])
    func chainedKernelsMatchTransformersLogits(run: String) throws {
        let model = try Self.model(run)
        let pixels = try Self.pixels()
        let logits = ResNetReferenceForward.logits(model, pixels: pixels, theta: model.anchor)
        let reference = try Self.reference(run)
        #expect(logits.count == 128 * 10 && reference.count == logits.count)
        let worst = zip(logits, reference).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4)
    }

    @Test(arguments: ["resnet-small", "resnet-bottleneck"])
    func logitsMatchTransformers(run: String) throws {
        let model = try Self.model(run)
        let logits = model.logits(pixels: try Self.pixels(), theta: model.anchor)
        let reference = try Self.reference(run)
        #expect(logits.count == reference.count)
        let worst = zip(logits, reference).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4)
    }

    static func load(_ config: String) throws(EstimatorError) {
        let json = try! JSONValue.parse(Array(config.utf8))
        _ = try ResNet.load(config: json, configSource: "config.json", weights: InMemoryTensors(tensors: []))
    }

    @Test func unknownLayerTypeIsUnsupported() {
        let error = #expect(throws: EstimatorError.self) { try Self.load(#"{"model_type": "resnet", "layer_type": "preact"}"#) }
        #expect(error?.code == "model.unsupported")
        #expect(error?.description.contains("'preact'") == true)
    }

    @Test func mismatchedStageListsAreAConfigError() {
        let error = #expect(throws: EstimatorError.self) {
            try Self.load(#"{"model_type": "resnet", "hidden_sizes": [8, 16], "depths": [1, 1, 1]}"#)
        }
        #expect(error?.code == "model.config")
    }

    @Test func missingRunningStatisticsNameTheBuffer() throws {
        // Weights without BatchNorm buffers (a state dict saved without them).
        let tensors = [("resnet.embedder.embedder.convolution.weight", [4, 3, 7, 7]),
                       ("resnet.embedder.embedder.normalization.weight", [4]),
                       ("resnet.embedder.embedder.normalization.bias", [4])].map {
            (name: $0.0, shape: $0.1, values: [Float](repeating: 0.5, count: $0.1.reduce(1, *)))
        }
        let json = try JSONValue.parse(Array(#"{"model_type": "resnet", "embedding_size": 4, "hidden_sizes": [4], "depths": [1], "layer_type": "basic"}"#.utf8))
        let error = #expect(throws: EstimatorError.self) {
            _ = try ResNet.load(config: json, configSource: "config.json", weights: InMemoryTensors(tensors: tensors))
        }
        #expect(error?.code == "model.missing_tensor")
        #expect(error?.description.contains("resnet.embedder.embedder.normalization.running_mean") == true)
    }
}
