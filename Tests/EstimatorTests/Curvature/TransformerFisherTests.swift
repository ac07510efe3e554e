import Testing
@testable import Estimator

/// The Fisher diagonal and Gauss-Newton matrix of language models, on micro models of every
/// architecture (float64, a vocabulary of 7, a masked position), where the exact diagonal — one
/// backward pass per class and position — and finite-difference second derivatives are cheap.
@Suite struct TransformerFisherTests {
    static func setUp(_ kind: MicroLanguageModels.Kind) throws -> (LanguageModel, TokenContext, TransformerBackwardPass<Double>) {
        let model = try MicroLanguageModels.model(kind, seed: 17)
        let tokens = try MicroLanguageModels.tokens(model, length: 6, seed: 18)
        return (model, tokens, try TransformerBackwardPass<Double>(model: model, tokens: tokens))
    }

    /// The diagonal is the KL's Hessian diagonal at the anchor: (KL(+h) + KL(−h))/h² for every
    /// parameter. Per-position squares give exactly this; squaring each sequence's summed
    /// pullback would add cross terms between positions and miss it.
    @Test(arguments: MicroLanguageModels.Kind.allCases)
    func exactDiagonalEqualsFiniteDifferenceSecondDerivatives(kind: MicroLanguageModels.Kind) throws {
        let (model, tokens, pass) = try Self.setUp(kind)
        #expect(pass.anchor.positions == 10)
        let fisher = FisherDiagonal(pass, method: .exact)
        #expect(FisherDiagonal.Method.natural(for: pass, samples: 4) == .exact)
        var theta = model.anchor.map(Double.init)
        let anchorLogits = pass.activations.logits
        let h = 1e-4
        var zeros = 0
        for i in theta.indices {
            let original = theta[i]
            theta[i] = original + h
            let plus = MicroLanguageModels.kl(model, tokens, anchorLogits: anchorLogits, theta: theta)
            theta[i] = original - h
            let minus = MicroLanguageModels.kl(model, tokens, anchorLogits: anchorLogits, theta: theta)
            theta[i] = original
            let numeric = (plus + minus) / (h * h)
            let analytic = fisher.values[i]
            if analytic == 0 { zeros += 1 }
            #expect(abs(numeric - analytic) <= 1e-5 * abs(analytic) + 1e-12, "\(kind) parameter \(i): \(analytic) vs \(numeric)")
        }
        // Embedding rows of tokens absent from the batch have no curvature (untied models).
        let s = model.structure
        let absent = Set(0..<MicroLanguageModels.vocabulary).subtracting(tokens.ids).count
        #expect(zeros >= (s.head.offset == s.tokenEmbedding.offset ? 0 : absent * s.hidden))
    }

    /// The dense Gauss-Newton matrix, built from full Jacobian rows, has the Fisher diagonal on
    /// its diagonal and matches finite-difference mixed second derivatives of the KL.
    @Test(arguments: MicroLanguageModels.Kind.allCases)
    func gaussNewtonMatrixIsTheKLHessian(kind: MicroLanguageModels.Kind) throws {
        let (model, tokens, pass) = try Self.setUp(kind)
        let g = try GaussNewton.matrix(pass)
        let d = pass.dimension
        let fisher = FisherDiagonal(pass, method: .exact)
        let scale = fisher.values.max()!
        for i in 0..<d {
            #expect(abs(g[i * d + i] - fisher.values[i]) <= 1e-12 * scale)
        }
        var random = TestRandom(seed: 19)
        let theta = model.anchor.map(Double.init)
        let step = 1e-4
        for _ in 0..<40 {
            let i = Int(random.next() % UInt64(d)), j = Int(random.next() % UInt64(d))
            func kl(_ si: Double, _ sj: Double) -> Double {
                var t = theta
                t[i] += si * step
                t[j] += sj * step
                return MicroLanguageModels.kl(model, tokens, anchorLogits: pass.activations.logits, theta: t)
            }
            let numeric = (kl(1, 1) - kl(1, -1) - kl(-1, 1) + kl(-1, -1)) / (4 * step * step)
            #expect(abs(numeric - g[i * d + j]) <= 1e-5 * scale, "\(kind) H[\(i), \(j)] = \(g[i * d + j]) vs \(numeric)")
        }
    }

    /// Labels drawn from the anchor's predictions give the exact diagonal on average; the
    /// reported relative standard error shrinks like 1/√samples and matches the actual error.
    @Test(arguments: [MicroLanguageModels.Kind.neox, .llama])
    func monteCarloConvergesToTheExactDiagonal(kind: MicroLanguageModels.Kind) throws {
        let (_, _, pass) = try Self.setUp(kind)
        let exact = FisherDiagonal(pass, method: .exact)
        let few = FisherDiagonal(pass, method: .monteCarlo(samples: 4))
        let many = FisherDiagonal(pass, method: .monteCarlo(samples: 256))
        let rseFew = try #require(few.relativeStandardError)
        let rseMany = try #require(many.relativeStandardError)
        #expect(rseMany < rseFew / 4 && rseMany > rseFew / 12, "RSE \(rseFew) at 4 samples, \(rseMany) at 256")
        var errors: [Double] = []
        let scale = exact.values.max()!
        for (e, m) in zip(exact.values, many.values) where e > 1e-6 * scale { errors.append(abs(m - e) / e) }
        errors.sort()
        let median = errors[errors.count / 2]
        #expect(median < 2 * rseMany && median > rseMany / 4, "median error \(median), reported \(rseMany)")
        #expect(FisherDiagonal(pass, method: .monteCarlo(samples: 4)).values == few.values)
    }

    /// A language model's vocabulary is past the exact limit: the natural method is
    /// Monte-Carlo, and float32 agrees with float64 on the same label draws.
    @Test func fixtureDiagonalIsMonteCarloAndFloat32AgreesWithFloat64() throws {
        let checkpoint = "llama-tiny/checkpoint-150"
        let model = try LanguageModelFixtures.model(checkpoint)
        let tokens = try TransformerBackwardPassTests.tokens(model, checkpoint, rows: 2, length: 12)
        let single = try TransformerBackwardPass<Float>(model: model, tokens: tokens)
        let double = try TransformerBackwardPass<Double>(model: model, tokens: tokens)
        #expect(FisherDiagonal.Method.natural(for: single, samples: 2) == .monteCarlo(samples: 2))
        let a = FisherDiagonal(single, method: .monteCarlo(samples: 2))
        let b = FisherDiagonal(double, method: .monteCarlo(samples: 2))
        let scale = b.values.max()!
        #expect(scale > 0)
        for (x, y) in zip(a.values, b.values) {
            #expect(abs(x - y) <= 1e-3 * y + 1e-6 * scale)
        }
    }
}
