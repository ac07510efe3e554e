import Testing
@testable import Estimator

/// The backward pass on the Trainer fixtures (`fixtures/vision`): its tape forward reproduces
/// transformers' eval-mode logits, and the curvature preconditioners build from it.
@Suite struct VisionFixtureCurvatureTests {
    static func model(_ checkpoint: String) throws -> VisionModel {
        let folder = try CheckpointFolder(path: Fixtures.path("vision/" + checkpoint))
        return try #require(try ModelLoader.load(folder, manifest: nil) as? VisionModel)
    }

    /// The 128 eval images' `pixel_values` [N, C, H, W], first `count` of them.
    static func evalData(first count: Int = 128) throws -> EvalData {
        let file = try SafeTensorsFile(path: Fixtures.path("vision/digits32_eval.safetensors"))
        let pixels = try file.tensor("pixel_values").floatTensor()
        let per = pixels.count / pixels.shape[0]
        return .images(ImageBatch(.values(Tensor(shape: [count] + pixels.shape.dropFirst(), scalars: Array(pixels.scalars.prefix(count * per))))))
    }

    static func referenceLogits(_ run: String, step: Int) throws -> [Float] {
        let file = try SafeTensorsFile(path: Fixtures.path("vision/\(run)/reference/checkpoint-\(step).logits.safetensors"))
        return try file.tensor("logits").floats()
    }

    @Test(arguments: [("convnextv2-small", 20), ("convnextv2-small", 240), ("convnextv2-small-poisoned", 240),
                      ("convnext-small", 240), ("resnet-small", 240), ("resnet-bottleneck", 240)])
    func tapeLogitsMatchTransformers(_ run: String, _ step: Int) throws {
        let model = try Self.model("\(run)/checkpoint-\(step)")
        let pass = try VisionBackwardPass<Float>(structure: model.structure, theta: model.anchor, pixels: try model.pixels(try Self.evalData()))
        let reference = try Self.referenceLogits(run, step: step)
        #expect(pass.logits.count == 128 * 10 && reference.count == 128 * 10)
        let worst = zip(pass.logits, reference).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-4, "\(run) checkpoint-\(step): largest logit difference \(worst)")
    }

    @Test func fisherIsExactAndNonNegativeOnConvNeXtV2Small() throws {
        let model = try Self.model("convnextv2-small/checkpoint-240")
        #expect(model.layout.count == 17_770)
        let fisher = try model.fisherDiagonal(data: try Self.evalData())
        #expect(fisher.method == .exact && fisher.relativeStandardError == nil)
        #expect(fisher.values.count == 17_770)
        #expect(fisher.values.allSatisfy { $0 >= 0 && $0.isFinite })
        // Every parameter moves some image's logits.
        #expect(fisher.values.filter { $0 == 0 }.count == 0)
        let p = try Preconditioner.fisher(try PreconditionerSpec(kind: .fisher), fisher)
        #expect(p.diagonal?.count == 17_770)
    }

    /// A Gauss-Newton matrix on a few images (the full 128 are what `hessian` uses; this keeps
    /// the test's D×D small in time): symmetric, diagonal = the exact Fisher on those images,
    /// positive semidefinite along random directions.
    @Test func gaussNewtonIsSymmetricWithTheFisherOnItsDiagonal() throws {
        let model = try Self.model("convnextv2-small/checkpoint-240")
        let data = try Self.evalData(first: 3)
        let d = model.layout.count
        #expect(d <= GaussNewton.dimensionLimit)
        let h = try model.gaussNewton(data: data)
        let fisher = try model.fisherDiagonal(data: data)
        var largest: Float = 0
        for i in 0..<d { largest = max(largest, h[i * d + i]) }
        for i in stride(from: 0, to: d, by: 97) {
            #expect(abs(Double(h[i * d + i]) - fisher.values[i]) <= 1e-4 * Double(largest) + 1e-3 * fisher.values[i])
            for j in stride(from: 0, to: d, by: 101) { #expect(h[i * d + j] == h[j * d + i]) }
        }
        var random = TestRandom(seed: 5)
        for _ in 0..<3 {
            let v = (0..<d).map { _ in random.symmetric() }
            var quadratic = 0.0
            for i in 0..<d {
                var row = 0.0
                for j in 0..<d { row += Double(h[i * d + j]) * v[j] }
                quadratic += v[i] * row
            }
            #expect(quadratic >= -1e-6 * Double(largest) * Double(d))
        }
    }

    @Test func gaussNewtonRefusesResNetSmallAboveTheLimit() throws {
        let model = try Self.model("resnet-small/checkpoint-240")
        #expect(model.layout.count == 32_642 && GaussNewton.dimensionLimit == 20_000)
        let error = #expect(throws: EstimatorError.self) { try model.gaussNewton(data: try Self.evalData(first: 2)) }
        #expect(error?.code == "curvature.too_large")
    }

    @Test(arguments: ["convnextv2-small/checkpoint-240", "convnext-small/checkpoint-240", "resnet-small/checkpoint-240"])
    func adamPreconditionerBuildsFromTheTrainerState(_ checkpoint: String) throws {
        let folder = try CheckpointFolder(path: Fixtures.path("vision/" + checkpoint))
        let model = try Self.model(checkpoint)
        let moment = try folder.adamMoment(.expAvgSq, for: model.layout)
        let p = try Preconditioner.moment(try PreconditionerSpec(kind: .adam), moment)
        #expect(p.diagonal?.count == model.layout.count)
        #expect(p.diagonal?.allSatisfy { $0 > 0 && $0.isFinite } == true)
    }
}
