import Testing
@testable import Estimator
#if canImport(Glibc)
import Glibc
#endif

@Suite struct MLPTests {
    static func digits(_ step: Int) throws -> (MLP, Tensor<Float>) {
        let weights = try SafeTensorsFile(path: Fixtures.path("digits/checkpoint-\(step)/model.safetensors"))
        let model = try MLP(weights: weights, activation: .relu)
        let data = try SafeTensorsFile(path: Fixtures.path("digits/digits_val.safetensors"))
        return (model, try data.tensor("inputs").floatTensor())
    }

    @Test func infersLayersInModuleOrderNotFileOrder() throws {
        let (model, _) = try Self.digits(100)
        #expect(model.layout.parameters.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        #expect(model.layout.count == 4810)
        #expect(model.inputs == 64 && model.classes == 10)
    }

    @Test(arguments: [0, 100, 3000])
    func logProbsMatchPyTorch(step: Int) throws {
        let (model, inputs) = try Self.digits(step)
        let reference = try SafeTensorsFile(path: Fixtures.path("digits/reference/checkpoint-\(step).logprobs.safetensors"))
            .tensor("logprobs").floats()
        let logits = model.logits(inputs, theta: model.anchor).map { Double($0) }
        let anchor = try logits.withUnsafeBufferPointer { try AnchorProbabilities(logits: $0, rows: 773, classes: 10) }
        #expect(reference.count == anchor.probabilities.count)
        let worst = zip(reference, anchor.probabilities).map { abs(Double($0) - log($1)) }.max()!
        #expect(worst < 1e-4)
    }

    @Test func anchorHasZeroKLAndPerturbationsPositive() throws {
        let (model, inputs) = try Self.digits(100)
        let objective = try model.klObjective(data: .features(inputs))
        let evaluator = objective.makeEvaluator()
        var direction = [Float](repeating: 0, count: objective.dimension)
        direction.withUnsafeMutableBufferPointer { DirectionSampler(seed: 3, dimension: $0.count).unitDirection(0, into: $0) }
        direction.withUnsafeBufferPointer { evaluator.setDirection($0) }
        #expect(evaluator.cost(at: 0) == 0)
        let small = evaluator.cost(at: 0.1), large = evaluator.cost(at: 1)
        #expect(small > 0 && large > small)
        // Near the anchor the KL is quadratic in t.
        let ratio = evaluator.cost(at: 0.02) / evaluator.cost(at: 0.01)
        #expect(abs(ratio - 4) < 0.05)
    }

    @Test func rayEvaluationMatchesFullForwardPass() throws {
        let (model, inputs) = try Self.digits(3000)
        let objective = try model.klObjective(data: .features(inputs))
        let evaluator = objective.makeEvaluator()
        var direction = [Float](repeating: 0, count: objective.dimension)
        direction.withUnsafeMutableBufferPointer { DirectionSampler(seed: 1, dimension: $0.count).unitDirection(5, into: $0) }
        direction.withUnsafeBufferPointer { evaluator.setDirection($0) }
        let t: Float = 0.7
        let theta = zip(model.anchor, direction).map { $0 + t * $1 }
        let logits = model.logits(inputs, theta: theta)
        let anchor = try model.logits(inputs, theta: model.anchor).withUnsafeBufferPointer {
            try AnchorDistribution(logits: $0, rows: 773, classes: 10)
        }
        let full = logits.withUnsafeBufferPointer { anchor.meanKL(logits: $0.baseAddress!, workspace: KLWorkspace(rows: 773, classes: 10)) }
        #expect(abs(evaluator.cost(at: Double(t)) / full - 1) < 1e-4)
    }
}
