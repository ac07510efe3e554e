import Testing
import Glibc
@testable import Estimator

/// The production KL cost (`RayEvaluator.cost(at:)`, float32 forward passes) against the float64
/// reference forward passes at radii along a ray where the KL is about 1e-4, 1e-2 and 1, and
/// exactly 0 at t = 0. The language models' eval batches have masked positions: right padding,
/// left padding and a hole, which get no attention and do not count in the KL.
@Suite struct KLCostReferenceTests {
    static let targets = [1e-4, 1e-2, 1]
    /// Relative tolerances at those targets: about ten times the largest difference measured on
    /// these models (3.3e-5, 3.9e-6, 2.2e-7), the float32 forward pass's rounding, which weighs
    /// more the smaller the KL.
    static let tolerances = [3e-4, 3e-5, 3e-6]

    /// Distances t along the ray where `cost` crosses each target: doubling or halving to a
    /// bracket, then bisection on log t.
    static func radii(_ cost: (Double) -> Double) throws -> [Double] {
        try targets.map { target in
            var (low, high) = (1.0, 1.0)
            var steps = 0
            while cost(high) < target, steps < 60 { (high, steps) = (2 * high, steps + 1) }
            while cost(low) >= target, steps < 120 { (low, steps) = (low / 2, steps + 1) }
            try #require(cost(low) < target && cost(high) >= target, "no bracket for KL \(target)")
            for _ in 0..<30 {
                let middle = (low * high).squareRoot()
                if cost(middle) < target { low = middle } else { high = middle }
            }
            return high
        }
    }

    /// Production against reference at t = 0 and the target radii; the reference KL must be in
    /// its target's regime (within a factor of 2).
    static func expectAgreement(_ what: String, evaluator: any RayEvaluator, reference: (Double) -> Double,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(evaluator.cost(at: 0) == 0, "\(what): production KL at the anchor", sourceLocation: sourceLocation)
        #expect(reference(0) == 0, "\(what): reference KL at the anchor", sourceLocation: sourceLocation)
        let radii = try radii { evaluator.cost(at: $0) }
        for ((target, t), tolerance) in zip(zip(targets, radii), Self.tolerances) {
            let production = evaluator.cost(at: t), expected = reference(t)
            let relative = abs(production / expected - 1)
            #expect(expected > target / 2 && expected < 2 * target, "\(what): reference KL \(expected) at t = \(t), aimed at \(target)",
                    sourceLocation: sourceLocation)
            #expect(relative <= tolerance, "\(what), KL ≈ \(target): production \(production), reference \(expected)",
                    sourceLocation: sourceLocation)
        }
    }

    /// θ0 + t·v in float64.
    static func ray(_ anchor: [Float], _ direction: UnsafeMutableBufferPointer<Float>, _ t: Double) -> [Double] {
        zip(anchor, direction).map { Double($0) + t * Double($1) }
    }

    @Test func digitsMLP() throws {
        let (model, inputs) = try MLPTests.digits(3000)
        let reference = Float64Reference(model: model, inputs: inputs)
        let objective = try model.klObjective(data: .features(inputs))
        let evaluator = objective.makeEvaluator()
        let direction = LanguageModelFixtures.direction(dimension: objective.dimension, seed: 21, index: 3)
        defer { direction.deallocate() }
        evaluator.setDirection(UnsafeBufferPointer(direction))
        try Self.expectAgreement("digits", evaluator: evaluator, reference: { reference.kl(Self.ray(model.anchor, direction, $0)) })
    }

    /// Three layers, so that the layers after the first (perturbed per evaluation, not through
    /// the first layer's slope) are more than the head.
    @Test(arguments: [Activation.gelu, .tanh])
    func deeperMLP(activation: Activation) throws {
        let model = try InMemoryTensors.randomMLP([12, 20, 16, 5], activation: activation, seed: 31)
        let inputs = InMemoryTensors.randomInputs(rows: 40, columns: 12, seed: 32)
        let reference = Float64Reference(model: model, inputs: inputs)
        let evaluator = try model.klObjective(data: .features(inputs)).makeEvaluator()
        let direction = LanguageModelFixtures.direction(dimension: model.layout.count, seed: 33, index: 0)
        defer { direction.deallocate() }
        evaluator.setDirection(UnsafeBufferPointer(direction))
        try Self.expectAgreement("MLP \(activation)", evaluator: evaluator, reference: { reference.kl(Self.ray(model.anchor, direction, $0)) })
    }

    /// The fixture's eval rows with zeros in the attention mask: row 0 right-padded (last 24),
    /// row 1 left-padded (first 20), row 2 with a hole (positions 10…14); the rest unmasked.
    static func maskedEvalData(_ checkpoint: String) throws -> (data: EvalData, counted: [Int]) {
        guard case .tokens(let ids, _) = try LanguageModelFixtures.evalTokens(checkpoint) else {
            throw EstimatorError(code: "test", "not token data")
        }
        let (rows, length) = (ids.shape[0], ids.shape[1])
        let mask = (0..<(rows * length)).map { i -> Int32 in
            let (row, position) = (i / length, i % length)
            switch row {
            case 0: return position < length - 24 ? 1 : 0
            case 1: return position < 20 ? 0 : 1
            case 2: return (10..<15).contains(position) ? 0 : 1
            default: return 1
            }
        }
        let counted = mask.indices.filter { mask[$0] == 1 }
        return (.tokens(ids: ids, mask: Tensor(shape: [rows, length], scalars: mask)), counted)
    }

    static func expectLanguageModelAgreement(_ what: String, model: LanguageModel, data: EvalData, counted: [Int],
                                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let objective = try model.klObjective(data: data)
        #expect(objective.positions == counted.count, sourceLocation: sourceLocation)
        let tokens = try model.tokenContext(data)
        let anchor = model.anchor.map(Double.init)
        let anchorLogits = anchor.withUnsafeBufferPointer {
            TransformerActivations(structure: model.structure, tokens: tokens, theta: $0.baseAddress!).logits
        }
        let evaluator = objective.makeEvaluator()
        let direction = LanguageModelFixtures.direction(dimension: objective.dimension, seed: 41, index: 5)
        defer { direction.deallocate() }
        evaluator.setDirection(UnsafeBufferPointer(direction))
        try expectAgreement(what, evaluator: evaluator, reference: {
            MicroLanguageModels.kl(model, tokens, anchorLogits: anchorLogits, theta: ray(model.anchor, direction, $0), counted: counted)
        }, sourceLocation: sourceLocation)
    }

    @Test(arguments: ["neox-tiny/checkpoint-60", "gpt2-tiny/checkpoint-150", "llama-tiny/checkpoint-150"])
    func languageModelFixtures(checkpoint: String) throws {
        let model = try LanguageModelFixtures.model(checkpoint)
        let (data, counted) = try Self.maskedEvalData(checkpoint)
        #expect(counted.count == 8 * 64 - 24 - 20 - 5)
        try Self.expectLanguageModelAgreement(checkpoint, model: model, data: data, counted: counted)
    }

    /// The micro models add GPT-NeoX's sequential residual; their second sequence is left-padded.
    @Test(arguments: MicroLanguageModels.Kind.allCases)
    func microLanguageModels(kind: MicroLanguageModels.Kind) throws {
        let model = try MicroLanguageModels.model(kind, seed: 51)
        let data = MicroLanguageModels.evalData(length: 6, seed: 52)
        let counted = [0, 1, 2, 3, 4, 5, 8, 9, 10, 11]
        try Self.expectLanguageModelAgreement("micro \(kind)", model: model, data: data, counted: counted)
    }
}
