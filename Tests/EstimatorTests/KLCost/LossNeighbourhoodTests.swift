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

    /// Next-token cross-entropy of float64 logits [rows·T, V] over positions p < T − 1 whose
    /// token and next token are both unmasked.
    static func nextTokenLoss(_ logits: [Double], ids: [Int32], mask: [Int32], length: Int, vocabulary v: Int) -> Double {
        var total = 0.0, count = 0
        for i in ids.indices where i % length < length - 1 && mask[i] == 1 && mask[i + 1] == 1 {
            let z = logits[(i * v)..<((i + 1) * v)]
            let m = z.max()!
            total += m + log(z.reduce(0) { $0 + exp($1 - m) }) - z[i * v + Int(ids[i + 1])]
            count += 1
        }
        return total / Double(count)
    }

    /// The language models' loss cost against a float64 forward pass, on masked rows, at the
    /// distances where the KL is 10⁻² and 1 nats (where the loss has moved).
    @Test(arguments: ["neox-tiny/checkpoint-60", "gpt2-tiny/checkpoint-150", "llama-tiny/checkpoint-150"])
    func languageModelLossAgreesWithAFloat64Reference(checkpoint: String) throws {
        let model = try LanguageModelFixtures.model(checkpoint)
        let (data, _) = try KLCostReferenceTests.maskedEvalData(checkpoint)
        guard case .tokens(let ids, let mask?) = data else { Issue.record("no mask"); return }
        let tokens = try model.tokenContext(data)
        let v = model.structure.vocabulary, length = ids.shape[1]
        let reference = { (theta: [Double]) -> Double in
            let logits = theta.withUnsafeBufferPointer {
                TransformerActivations(structure: model.structure, tokens: tokens, theta: $0.baseAddress!).logits
            }
            return Self.nextTokenLoss(logits, ids: ids.scalars, mask: mask.scalars, length: length, vocabulary: v)
        }
        let anchorLoss = reference(model.anchor.map(Double.init))
        let loss = try model.lossObjective(data: data, labels: nil)
        let kl = try model.klObjective(data: data)
        let direction = LanguageModelFixtures.direction(dimension: loss.dimension, seed: 41, index: 5)
        defer { direction.deallocate() }
        let (lossEvaluator, klEvaluator) = (loss.makeEvaluator(), kl.makeEvaluator())
        lossEvaluator.setDirection(UnsafeBufferPointer(direction))
        klEvaluator.setDirection(UnsafeBufferPointer(direction))
        #expect(lossEvaluator.cost(at: 0) == 0)
        let radii = try KLCostReferenceTests.radii { klEvaluator.cost(at: $0) }
        for t in radii.suffix(2) {
            let expected = max(0, reference(KLCostReferenceTests.ray(model.anchor, direction, t)) - anchorLoss)
            let production = lossEvaluator.cost(at: t)
            #expect(abs(production - expected) <= 1e-3 * max(expected, 1e-3), "\(checkpoint) t = \(t): production \(production), reference \(expected)")
            if t == radii.last { #expect(expected > 0.1, "\(checkpoint): the loss barely moved where the KL is 1 nat") }
        }
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
