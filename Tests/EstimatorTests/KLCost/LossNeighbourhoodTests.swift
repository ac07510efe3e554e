import Testing
import Glibc
@testable import Estimator

/// The loss neighbourhood's cost (docs/estimator.md, "Loss neighbourhoods"): max(0, CE(θ) − CE(θ0)).
@Suite struct LossNeighbourhoodTests {
    static func labels() throws -> [Int] {
        let file = try EvalDataFile(path: Fixtures.path("digits/digits_val.safetensors"))
        return try #require(file.labels)
    }

    /// Mean cross-entropy against `labels` at θ, in float64.
    static func crossEntropy(_ reference: Float64Reference, _ theta: [Double], _ labels: [Int]) -> Double {
        let logits = reference.logits(theta)
        let c = reference.classes
        var total = 0.0
        for (row, label) in labels.enumerated() {
            let z = logits[(row * c)..<((row + 1) * c)]
            let m = z.max()!
            total += m + log(z.reduce(0) { $0 + exp($1 - m) }) - z[row * c + label]
        }
        return total / Double(labels.count)
    }

    @Test func digitsLossCostIsTheCrossEntropyIncreaseFlooredAtZero() throws {
        let (model, inputs) = try MLPTests.digits(3000)
        let labels = try Self.labels()
        let reference = Float64Reference(model: model, inputs: inputs)
        let objective = try model.lossObjective(data: .features(inputs), labels: labels)
        #expect(objective.positions == 773)
        let evaluator = objective.makeEvaluator()
        let direction = LanguageModelFixtures.direction(dimension: objective.dimension, seed: 21, index: 3)
        defer { direction.deallocate() }
        evaluator.setDirection(UnsafeBufferPointer(direction))
        #expect(evaluator.cost(at: 0) == 0)
        let anchorLoss = Self.crossEntropy(reference, model.anchor.map(Double.init), labels)
        var rose = 0
        for t in [-8.0, -2.0, 2.0, 8.0, 20.0] {
            let expected = max(0, Self.crossEntropy(reference, KLCostReferenceTests.ray(model.anchor, direction, t), labels) - anchorLoss)
            let production = evaluator.cost(at: t)
            #expect(abs(production - expected) <= 1e-4 * max(expected, 1e-2), "t = \(t): production \(production), reference \(expected)")
            if expected > 0 { rose += 1 }
        }
        #expect(rose >= 2)
    }

    @Test func mlpLossNeedsLabelsInRange() throws {
        let (model, inputs) = try MLPTests.digits(3000)
        #expect(throws: EstimatorError.self) { try model.lossObjective(data: .features(inputs), labels: nil) }
        do {
            _ = try model.lossObjective(data: .features(inputs), labels: nil)
        } catch {
            #expect(error.code == "eval.no_labels")
        }
        var labels = try Self.labels()
        labels[5] = 10
        do {
            _ = try model.lossObjective(data: .features(inputs), labels: labels)
            Issue.record("a label ≥ classes was accepted")
        } catch {
            #expect(error.code == "eval.label_range" && error.detail.contains("row 5"))
        }
    }

    /// Language models score position p against token p + 1: T − 1 positions per row.
    @Test func languageModelLossCountsNextTokenPositions() throws {
        let tokens = TokenContext(ids: [1, 2, 3, 4, 5, 6, 7, 8], mask: [true, true, true, false, true, true, true, true],
                                  rows: 2, length: 4, rotary: nil)
        let loss = try AnchorLoss.nextTokens(tokens, vocabulary: 10)
        // Row 0: positions 0, 1 (2 → 3 has mask[3] false); row 1: positions 0, 1, 2.
        #expect(loss.positions == 5)
        #expect(loss.targets == [2, 3, -1, -1, 6, 7, 8, -1])
    }

    /// A language model's loss cost is 0 at the anchor and rises along a ray.
    @Test func languageModelLossCostStartsAtZero() throws {
        let estimation = try CheckpointEstimation(path: Fixtures.path("neox-tiny/checkpoint-60"),
                                                  overrides: { var o = EstimateOverrides(); o.neighbourhood = .loss; return o }())
        let evaluator = estimation.objective.makeEvaluator()
        let direction = LanguageModelFixtures.direction(dimension: estimation.objective.dimension, seed: 2, index: 0)
        defer { direction.deallocate() }
        evaluator.setDirection(UnsafeBufferPointer(direction))
        #expect(evaluator.cost(at: 0) == 0)
        #expect(evaluator.cost(at: 50) > 0)
    }
}
