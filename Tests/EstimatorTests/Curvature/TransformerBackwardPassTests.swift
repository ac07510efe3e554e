import Testing
@testable import Estimator

/// Reverse mode for the language models against central finite differences of their float64
/// forward pass, on the real fixture checkpoints (two eval rows, short sequences).
@Suite struct TransformerBackwardPassTests {
    static let checkpoints = ["neox-tiny/checkpoint-60", "gpt2-tiny/checkpoint-150", "llama-tiny/checkpoint-150"]

    /// The first `rows` eval rows of `checkpoint`'s run, cut to `length` tokens.
    static func tokens(_ model: LanguageModel, _ checkpoint: String, rows: Int, length: Int) throws -> TokenContext {
        guard case .tokens(let ids, _) = try LanguageModelFixtures.evalTokens(checkpoint) else {
            throw EstimatorError(code: "test", "not token data")
        }
        let t = ids.shape[1]
        let cut = (0..<rows).flatMap { r in ids.scalars[(r * t)..<(r * t + length)] }
        return try model.tokenContext(ids: Tensor(shape: [rows, length], scalars: cut), mask: nil)
    }

    /// Parameters to difference: a spread of entries of every tensor; for the token embedding,
    /// entries of rows that the tokens use and of one that they do not; for learned positions,
    /// rows inside and outside the sequence.
    static func checkedIndices(_ model: LanguageModel, _ tokens: TokenContext) -> [Int] {
        let s = model.structure
        var indices: [Int] = []
        for p in model.layout.parameters where p.offset != s.tokenEmbedding.offset && p.offset != s.positionEmbedding?.offset {
            indices += Swift.stride(from: p.offset + 3, to: p.range.upperBound, by: max(1, p.count / 5))
        }
        let h = s.hidden
        let used = Array(Set(tokens.ids)).sorted()
        for (k, id) in used.prefix(4).enumerated() { indices.append(s.tokenEmbedding.offset + id * h + (7 * k) % h) }
        let unused = (0..<s.vocabulary).first { !used.contains($0) }!
        indices.append(s.tokenEmbedding.offset + unused * h + 1)
        if let positions = s.positionEmbedding {
            indices += [positions.offset + 2, positions.offset + (tokens.length - 1) * h + 5, positions.offset + tokens.length * h + 3]
        }
        return indices
    }

    /// Central differences of Σ w·logits(θ) over `indices` in float64.
    static func finiteDifferences(_ model: LanguageModel, _ tokens: TokenContext, weights: [Double],
                                  indices: [Int], step: Double = 1e-5) -> [Double] {
        var theta = model.anchor.map(Double.init)
        func functional() -> Double {
            let logits = theta.withUnsafeBufferPointer {
                TransformerActivations(structure: model.structure, tokens: tokens, theta: $0.baseAddress!).logits
            }
            return zip(logits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
        return indices.map { i in
            let original = theta[i]
            theta[i] = original + step
            let plus = functional()
            theta[i] = original - step
            let minus = functional()
            theta[i] = original
            return (plus - minus) / (2 * step)
        }
    }

    static func expectClose(_ analytic: [Double], _ numeric: [Double], indices: [Int], scale: Double,
                            _ what: String) {
        for (k, i) in indices.enumerated() {
            let a = analytic[i], n = numeric[k]
            #expect(abs(a - n) <= 2e-6 * abs(a) + 1e-7 * scale, "\(what), parameter \(i): \(a) vs \(n)")
        }
    }

    /// The gradient of Σ w·logits over every position (the pullback's sum) and of one position's
    /// g·logits_t alone (its Jacobian row: the per-example quantity the Fisher squares) match
    /// finite differences on a spread of every tensor's entries.
    @Test(arguments: checkpoints)
    func gradientsMatchFiniteDifferences(checkpoint: String) throws {
        let model = try LanguageModelFixtures.model(checkpoint)
        let tokens = try Self.tokens(model, checkpoint, rows: 2, length: 6)
        let pass = try TransformerBackwardPass<Double>(model: model, tokens: tokens)
        let (n, v, d) = (tokens.tokens, model.vocabularySize, pass.dimension)
        var random = TestRandom(seed: 5)
        let w = (0..<(n * v)).map { _ in random.symmetric() }
        var sum = [Double](repeating: 0, count: d)
        sum.withUnsafeMutableBufferPointer {
            pass.pullback(examples: 0..<n, cotangents: w, sum: $0.baseAddress!, squares: nil)
        }
        let indices = Self.checkedIndices(model, tokens)
        let scale = sum.map(abs).max()!
        Self.expectClose(sum, Self.finiteDifferences(model, tokens, weights: w, indices: indices), indices: indices,
                         scale: scale, "Σ w·logits")

        // Position 4 of the second sequence: its gradient reaches positions 0…4 through attention.
        let example = tokens.length + 4
        var row = [Double](repeating: .nan, count: d)
        row.withUnsafeMutableBufferPointer {
            pass.jacobianRows(examples: example..<(example + 1), cotangents: Array(w[(example * v)..<((example + 1) * v)]),
                              into: $0.baseAddress!)
        }
        var single = [Double](repeating: 0, count: n * v)
        for c in 0..<v { single[example * v + c] = w[example * v + c] }
        Self.expectClose(row, Self.finiteDifferences(model, tokens, weights: single, indices: indices), indices: indices,
                         scale: row.map(abs).max()!, "position \(example)")
        // The row reaches the embeddings of every token of its prefix (through attention) and
        // of no other token.
        let s = model.structure
        let prefix = Set(tokens.ids[tokens.length..<(example + 1)])
        for id in 0..<s.vocabulary where s.head.offset != s.tokenEmbedding.offset {
            let entries = row[(s.tokenEmbedding.offset + id * s.hidden)..<(s.tokenEmbedding.offset + (id + 1) * s.hidden)]
            #expect(entries.contains { $0 != 0 } == prefix.contains(id), "embedding row \(id)")
        }
        if let positions = s.positionEmbedding {
            for p in 0..<tokens.length {
                let entries = row[(positions.offset + p * s.hidden)..<(positions.offset + (p + 1) * s.hidden)]
                #expect(entries.contains { $0 != 0 } == (p <= 4), "position row \(p)")
            }
        }
    }

    /// The backward pass's own forward pass gives the model's logits (float32) on the whole
    /// eval set.
    @Test(arguments: checkpoints)
    func recordedForwardPassMatchesTheModel(checkpoint: String) throws {
        let model = try LanguageModelFixtures.model(checkpoint)
        let data = try LanguageModelFixtures.evalTokens(checkpoint)
        guard case .tokens(let ids, let mask) = data else { Issue.record("not token data"); return }
        let tokens = try model.tokenContext(data)
        let logits = try model.logits(ids: ids, mask: mask, theta: model.anchor)
        let recorded = try TransformerBackwardPass<Float>(model: model, tokens: tokens).activations.logits
        let worst = zip(logits, recorded).map { abs($0 - $1) }.max()!
        #expect(recorded.count == 8 * 64 * 256)
        #expect(worst < 2e-5, "largest difference from the model's forward pass: \(worst)")
    }
}
