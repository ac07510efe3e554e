import Testing
@testable import Estimator

@Suite struct LanguageModelForwardTests {
    @Test(arguments: LanguageModelFixtures.checkpoints)
    func logitsMatchPyTorch(checkpoint: String) throws {
        let model = try LanguageModelFixtures.model(checkpoint)
        let (ids, reference) = try LanguageModelFixtures.reference(checkpoint)
        let logits = try model.logits(ids: ids, theta: model.anchor)
        #expect(logits.count == reference.count)
        #expect(reference.count == 2 * 64 * 256)
        let worst = zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "largest difference from PyTorch: \(worst)")
    }

    @Test(arguments: LanguageModelFixtures.checkpoints)
    func anchorHasZeroKLAndRayMatchesFullForwardPass(checkpoint: String) throws {
        let model = try LanguageModelFixtures.model(checkpoint)
        let data = try LanguageModelFixtures.evalTokens(checkpoint)
        guard case .tokens(let ids, let mask) = data else { Issue.record("not token data"); return }
        let objective = try model.klObjective(data: data)
        #expect(objective.positions == 8 * 64)
        #expect(objective.dimension == model.layout.count)
        let evaluator = objective.makeEvaluator()
        let direction = LanguageModelFixtures.direction(dimension: objective.dimension, seed: 4, index: 2)
        defer { direction.deallocate() }
        evaluator.setDirection(UnsafeBufferPointer(direction))
        #expect(evaluator.cost(at: 0) == 0)

        let t: Float = 3
        let theta = zip(model.anchor, direction).map { $0 + t * $1 }
        let anchorLogits = try model.logits(ids: ids, mask: mask, theta: model.anchor)
        let logits = try model.logits(ids: ids, mask: mask, theta: theta)
        let anchor = try anchorLogits.withUnsafeBufferPointer { try AnchorDistribution(logits: $0, rows: 512, classes: 256) }
        let full = logits.withUnsafeBufferPointer { anchor.meanKL(logits: $0.baseAddress!, workspace: KLWorkspace(rows: 512, classes: 256)) }
        let ray = evaluator.cost(at: Double(t))
        #expect(full > 1e-4)
        #expect(abs(ray / full - 1) < 1e-4, "ray \(ray) vs full forward \(full)")
        // Near the anchor the KL is quadratic in t, and the evaluator keeps no state between calls.
        let ratio = evaluator.cost(at: 0.2) / evaluator.cost(at: 0.1)
        #expect(abs(ratio - 4) < 0.1)
        #expect(evaluator.cost(at: Double(t)) == ray)
    }
}
