import Testing
@testable import Estimator

/// The mini-batch cross-entropy and its gradient at a θ away from the anchor, against central
/// finite differences of the same loss in float64.
@Suite struct LLCLossTests {
    static func digitsLoss<S: BLASScalar>(_ step: Int = 3000, _: S.Type = S.self) throws -> MLPCrossEntropy<S> {
        let (model, inputs) = try MLPTests.digits(step)
        let labels = try EvalDataFile(path: Fixtures.path("digits/digits_val.safetensors")).labels
        return try MLPCrossEntropy<S>(model: model, inputs: inputs, labels: labels, file: "digits_val.safetensors")
    }

    static func neoxLoss<S: BLASScalar>(_: S.Type = S.self) throws -> LanguageModelCrossEntropy<S> {
        let model = try LanguageModelFixtures.model("neox-tiny/checkpoint-60")
        return try LanguageModelCrossEntropy<S>(model: model, tokens: try model.tokenContext(try LanguageModelFixtures.evalTokens("neox-tiny/checkpoint-60")))
    }

    /// θ = anchor + a small deterministic perturbation, so the check is not at the anchor.
    static func perturbed(_ anchor: [Float], scale: Double) -> [Double] {
        var random = TestRandom(seed: 5)
        return anchor.map { Double($0) + scale * random.symmetric() }
    }

    static func checkGradient<L: SGLDLoss>(_ loss: L, theta: [Double], batch: L.Batch, checked: [Int], h: Double,
                                           tolerance: Double) where L.Scalar == Double {
        var gradient = [Double](repeating: 0, count: loss.dimension)
        let value = gradient.withUnsafeMutableBufferPointer { loss.lossAndGradient(at: theta, batch: batch, gradient: $0.baseAddress!) }
        #expect(value.isFinite && value > 0)
        var scratch = [Double](repeating: 0, count: loss.dimension)
        let scale = gradient.map(abs).max()!
        #expect(scale > 0)
        for i in checked {
            var plus = theta, minus = theta
            plus[i] += h
            minus[i] -= h
            let up = scratch.withUnsafeMutableBufferPointer { loss.lossAndGradient(at: plus, batch: batch, gradient: $0.baseAddress!) }
            let down = scratch.withUnsafeMutableBufferPointer { loss.lossAndGradient(at: minus, batch: batch, gradient: $0.baseAddress!) }
            let numeric = (up - down) / (2 * h)
            #expect(abs(numeric - gradient[i]) <= tolerance * scale, "parameter \(i): \(gradient[i]) vs \(numeric)")
        }
    }

    @Test func mlpGradientMatchesFiniteDifferences() throws {
        let loss = try Self.digitsLoss(3000, Double.self)
        let theta = Self.perturbed(loss.model.anchor, scale: 0.01)
        let batch = loss.batch([3, 14, 15, 92, 65, 35, 89, 79, 323, 846 % 773, 264, 338])
        Self.checkGradient(loss, theta: theta, batch: batch, checked: Array(4096..<4810) + stride(from: 0, to: 4096, by: 5),
                           h: 1e-4, tolerance: 1e-5)
    }

    @Test func neoxGradientMatchesFiniteDifferences() throws {
        let loss = try Self.neoxLoss(Double.self)
        let theta = Self.perturbed(loss.model.anchor, scale: 0.002)
        let batch = try loss.batch([5, 2, 7])
        Self.checkGradient(loss, theta: theta, batch: batch, checked: Array(stride(from: 0, to: loss.dimension, by: 1297)),
                           h: 1e-5, tolerance: 1e-6)
    }

    /// The mean CE of the whole eval data at the anchor, by hand from the model's own logits.
    @Test func anchorLossIsTheMeanNextTokenCrossEntropy() throws {
        let model = try LanguageModelFixtures.model("neox-tiny/checkpoint-60")
        let data = try LanguageModelFixtures.evalTokens("neox-tiny/checkpoint-60")
        guard case .tokens(let ids, _) = data else { Issue.record("not tokens"); return }
        let logits = try model.logits(ids: ids, theta: model.anchor)
        let (rows, length, v) = (ids.shape[0], ids.shape[1], model.vocabularySize)
        var total = 0.0
        for r in 0..<rows {
            for t in 0..<(length - 1) {
                let row = logits[((r * length + t) * v)..<((r * length + t + 1) * v)].map(Double.init)
                let m = row.max()!
                let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
                total += lse - row[Int(ids.scalars[r * length + t + 1])]
            }
        }
        let expected = total / Double(rows * (length - 1))
        let loss = try LanguageModelCrossEntropy<Float>(model: model, tokens: try model.tokenContext(data))
        #expect(abs(try loss.loss(at: model.anchor) - expected) <= 1e-5 * expected)
    }

    @Test func anMLPWithoutLabelsNamesTheFile() throws {
        let (model, inputs) = try MLPTests.digits(100)
        let error = #expect(throws: EstimatorError.self) {
            try MLPCrossEntropy<Float>(model: model, inputs: inputs, labels: nil, file: "x.safetensors")
        }
        #expect(error?.code == "llc.no_labels")
        #expect(error?.detail.contains("x.safetensors") == true)
    }

    @Test func aLabelOutsideTheClassesNamesItsRow() throws {
        let (model, inputs) = try MLPTests.digits(100)
        var labels = [Int](repeating: 1, count: inputs.shape[0])
        labels[17] = 10
        let error = #expect(throws: EstimatorError.self) {
            try MLPCrossEntropy<Float>(model: model, inputs: inputs, labels: labels, file: "x")
        }
        #expect(error?.code == "llc.bad_label")
        #expect(error?.detail.contains("row 17") == true)
    }
}

#if canImport(Glibc)
import Glibc
#endif
