import Testing
@testable import Estimator

@Suite struct VisionObjectiveTests {
    @Test(arguments: [true, false])
    func anchorCostsExactlyZeroAndNearbyPointsCostMore(version2: Bool) throws {
        let model = try ForwardTestModels.convNeXt(version2: version2)
        let objective = try model.klObjective(data: ForwardTestModels.pixels(images: 6))
        #expect(objective.dimension == model.layout.count && objective.positions == 6)
        let costs = ForwardTestModels.costs(objective, direction: ForwardTestModels.direction(objective.dimension), at: [0, 0.05, 0.5])
        #expect(costs[0] == 0)
        #expect(costs[1] > 0 && costs[2] > costs[1])
    }

    @Test func costIsTheSameBitsForAnyNumberOfLanesAndChunking() throws {
        let model = try ForwardTestModels.convNeXt(version2: true)
        let data = ForwardTestModels.pixels(images: 9)
        let objective = try model.klObjective(data: data)
        let direction = ForwardTestModels.direction(objective.dimension)
        let costs = [1, 2, 3].map { ForwardTestModels.costs(objective, lanes: $0, direction: direction, at: [0.01, 0.3]) }
        #expect(costs[0][0] > 0)
        #expect(costs[1] == costs[0] && costs[2] == costs[0])
        // Another chunking (one image per chunk) changes only roundings.
        let oneImageChunks = try VisionObjective(model: model, pixels: try model.pixels(data), lanes: 2, rowsPerChunk: 1)
        let other = ForwardTestModels.costs(oneImageChunks, lanes: 2, direction: direction, at: [0.3])
        #expect(abs(other[0] - costs[0][1]) <= 1e-4 * costs[0][1])
    }

    @Test func logitsAreTheObjectivesAnchorLogits() throws {
        let model = try ForwardTestModels.convNeXt(version2: true)
        let pixels = try model.pixels(ForwardTestModels.pixels(images: 3))
        let logits = model.logits(pixels: pixels, theta: model.anchor)
        #expect(logits.count == 3 * 5)
        #expect(logits.allSatisfy(\.isFinite) && Set(logits).count == 15)
        var shifted = model.anchor
        let bias = model.layout["classifier.bias"]!
        for i in bias.range { shifted[i] += 1 }
        #expect(zip(model.logits(pixels: pixels, theta: shifted), logits).allSatisfy { abs($0 - $1 - 1) < 1e-5 })
    }

    @Test func streamedAndMaterializedDirectionsGiveTheSameCost() throws {
        let model = try ForwardTestModels.convNeXt(version2: true)
        let objective = try model.klObjective(data: ForwardTestModels.pixels(images: 4))
        let sampler = DirectionSampler(seed: 5, dimension: objective.dimension)
        let streamed = StreamedDirection.measure(sampler, index: 0, diagonal: nil, anchor: nil, lanes: 1).direction
        var direction = [Float](repeating: 0, count: objective.dimension)
        direction.withUnsafeMutableBufferPointer { RayDirection.streamed(streamed).materialize(into: $0) }
        let evaluator = objective.makeEvaluator(lanes: 2)
        evaluator.setDirection(.streamed(streamed))
        let fromStream = [0.05, 0.2].map { evaluator.cost(at: $0) }
        #expect(fromStream[0] > 0)
        #expect(ForwardTestModels.costs(objective, lanes: 2, direction: direction, at: [0.05, 0.2]) == fromStream)
    }

    @Test func lossObjectiveScoresTheLabels() throws {
        let model = try ForwardTestModels.convNeXt(version2: true)
        let data = ForwardTestModels.pixels(images: 6)
        let objective = try model.lossObjective(data: data, labels: [0, 1, 2, 3, 4, 0])
        #expect(objective.positions == 6)
        let costs = ForwardTestModels.costs(objective, lanes: 2, direction: ForwardTestModels.direction(objective.dimension), at: [0, 0.3, 1, 3])
        #expect(costs[0] == 0)
        #expect(costs.dropFirst().contains { $0 > 0 })
        #expect(throws: EstimatorError.self) { try model.lossObjective(data: data, labels: nil) }
        let outOfRange = #expect(throws: EstimatorError.self) { try model.lossObjective(data: data, labels: [0, 1, 2, 3, 4, 5]) }
        #expect(outOfRange?.code == "eval.label_range")
    }

    @Test func refusesEvalDataOfTheWrongKindOrChannelCount() throws {
        let model = try ForwardTestModels.convNeXt(version2: true)
        let tokens = #expect(throws: EstimatorError.self) {
            try model.klObjective(data: .tokens(ids: Tensor(shape: [1, 2], scalars: [1, 2]), mask: nil))
        }
        #expect(tokens?.code == "eval.kind")
        let gray = #expect(throws: EstimatorError.self) {
            try model.klObjective(data: ForwardTestModels.pixels(images: 2, channels: 1))
        }
        #expect(gray?.code == "eval.channels")
        #expect(gray?.description.contains("1 channels") == true && gray?.description.contains("takes 3") == true)
    }

    @Test func flopsCountConvolutionsAndLinears() throws {
        // 16×16 image, patch 2: stem 8×8×8 from 2×2×3 patches; stage 0 at 8×8×8, stage 1 at 4×4×16.
        let model = try ForwardTestModels.convNeXt(version2: true)
        let objective = try #require(try model.klObjective(data: ForwardTestModels.pixels(images: 2)) as? VisionObjective)
        let stem = 64 * 8 * 12
        let stage0 = 64 * 8 * 49 + 2 * 64 * 8 * 32
        let downsampling = 16 * 16 * 32
        let stage1 = 16 * 16 * 49 + 2 * 16 * 16 * 64
        let head = 16 * 5
        #expect(objective.flopsPerEvaluation == 2 * 2 * (stem + stage0 + downsampling + stage1 + head))
    }
}
