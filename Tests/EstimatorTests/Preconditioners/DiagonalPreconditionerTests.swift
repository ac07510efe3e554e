import Testing
import Glibc
@testable import Estimator

/// `adam`, `adam-m` and `fisher` entry by entry against their formulas: the moment or curvature
/// each reads, eps, the exponent and the unit determinant. Expected eps and exponents are
/// written out here rather than read back from the spec, so a wrong default fails too.
@Suite struct DiagonalPreconditionerTests {
    /// Moments whose entries span the scales where eps decides (|x|^exponent from far below eps
    /// to far above it), with zeros; the first moment signed. The two moments differ, so reading
    /// the wrong one fails.
    static func syntheticMoments() -> AdamMoments {
        var random = TestRandom(seed: 12)
        let n = 600
        let expAvgSq = (0..<n).map { i in i % 50 == 0 ? 0 : Float(pow(10, -12 + 14 * (random.symmetric() + 1) / 2)) }
        let expAvg = (0..<n).map { i in
            i % 40 == 7 ? 0 : Float((random.symmetric() < 0 ? -1 : 1) * pow(10, -8 + 9 * (random.symmetric() + 1) / 2))
        }
        return AdamMoments(expAvg: expAvg, expAvgSq: expAvgSq)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let spec: String
        let eps: Double
        let exponent: Double
        var testDescription: String { spec }
    }

    static let momentCases = ["adam", "adam-m"].flatMap { name in
        [Case(spec: name, eps: 1e-3, exponent: 0.5),
         Case(spec: "\(name):eps=1e-2,exponent=0.5", eps: 1e-2, exponent: 0.5),
         Case(spec: "\(name):eps=0.1,exponent=1", eps: 0.1, exponent: 1),
         Case(spec: "\(name):eps=1e-6,exponent=0.25", eps: 1e-6, exponent: 0.25),
         Case(spec: "\(name):exponent=2,eps=1", eps: 1, exponent: 2)]
    }

    @Test(arguments: momentCases)
    func adamMomentsGiveTheFormulaEntryByEntry(_ c: Case) throws {
        let spec = try PreconditionerSpec(parsing: c.spec)
        let moments = Self.syntheticMoments()
        let source = spec.kind == .adam ? moments.expAvgSq : moments.expAvg
        let p = try Preconditioner.moments(spec, moments)
        try DiagonalFormula.expectMatches(p, DiagonalFormula.expected(source.map(Double.init), eps: c.eps, exponent: c.exponent), c.spec)
        try DiagonalFormula.expectUnitDeterminant(p, c.spec)
    }

    /// Values small enough to work out by hand.
    @Test func handWorkedDiagonals() throws {
        func entries(_ spec: String, expAvg: [Float] = [0, 0, 0], expAvgSq: [Float] = [0, 0, 0]) throws -> [Float] {
            try DiagonalFormula.entries(try Preconditioner.moments(try PreconditionerSpec(parsing: spec),
                                                                   AdamMoments(expAvg: expAvg, expAvgSq: expAvgSq)))
        }
        func close(_ a: [Float], _ b: [Double]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { abs(Double($0) / $1 - 1) <= 1e-7 }
        }
        // q = 1/√ν = (1, ½, ¼), geometric mean ½.
        #expect(close(try entries("adam:eps=0", expAvgSq: [1, 4, 16]), [2, 1, 0.5]))
        // q = 1/ν = (1, ¼, 1/16), geometric mean ¼.
        #expect(close(try entries("adam:eps=0,exponent=1", expAvgSq: [1, 4, 16]), [4, 1, 0.25]))
        // The first moment's sign does not matter.
        #expect(close(try entries("adam-m:eps=0", expAvg: [-1, 4, -16], expAvgSq: [9, 9, 9]), [2, 1, 0.5]))
        // q = 1/(√ν + 1) = (1, ½), geometric mean 1/√2.
        let half = 0.5.squareRoot()
        #expect(close(try entries("adam:eps=1", expAvg: [5, 7], expAvgSq: [0, 1]), [1 / half, half]))
        #expect(close(try entries("adam-m:eps=1", expAvg: [0, -1], expAvgSq: [5, 7]), [1 / half, half]))
    }

    /// eps = 0 with a zero moment would be an infinite entry: an error, not a silent estimate.
    @Test(arguments: ["adam:eps=0", "adam-m:eps=0"])
    func zeroEpsWithAZeroMomentIsDegenerate(_ spec: String) throws {
        let error = #expect(throws: EstimatorError.self) {
            try Preconditioner.moments(try PreconditionerSpec(parsing: spec), Self.syntheticMoments())
        }
        #expect(error?.code == "preconditioner.degenerate")
    }

    /// The path a checkpoint takes (`CheckpointEstimation.preconditioner`: optimizer.pt through
    /// `OptimizerState` to the formula) against the formula on the moments read from the pickle
    /// here, for all 4,810 entries of both digits checkpoints with Adam state.
    @Test(arguments: ["digits/checkpoint-100", "digits/checkpoint-3000"])
    func digitsAdamPreconditionersFollowTheFormula(checkpoint: String) throws {
        let estimation = try CheckpointEstimation(path: Fixtures.path(checkpoint))
        let raw = try RawAdamState.digits(checkpoint)
        for c in [Case(spec: "adam", eps: 1e-3, exponent: 0.5), Case(spec: "adam-m", eps: 1e-3, exponent: 0.5),
                  Case(spec: "adam-m:eps=1e-4,exponent=1", eps: 1e-4, exponent: 1)] {
            let spec = try PreconditionerSpec(parsing: c.spec)
            let p = try estimation.preconditioner(spec).get()
            let source = spec.kind == .adam ? raw.expAvgSq : raw.expAvg
            try DiagonalFormula.expectMatches(p, DiagonalFormula.expected(source, eps: c.eps, exponent: c.exponent), "\(checkpoint) \(c.spec)")
            try DiagonalFormula.expectUnitDeterminant(p, "\(checkpoint) \(c.spec)")
        }
    }

    /// `fisher` = 1/(diag^½ + eps) on the exact Fisher diagonal of digits/checkpoint-3000, through
    /// the checkpoint's own path (curvature cache included).
    @Test func fisherFollowsTheFormulaOnDigits() throws {
        let estimation = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-3000"))
        let model = try #require(estimation.model as? MLP)
        let diagonal = try model.fisherDiagonal(data: estimation.eval.data).values
        #expect(diagonal.count == 4810)
        for c in [Case(spec: "fisher", eps: 1e-2, exponent: 0.5), Case(spec: "fisher:eps=0.1", eps: 0.1, exponent: 0.5),
                  Case(spec: "fisher:eps=1e-5", eps: 1e-5, exponent: 0.5)] {
            let p = try estimation.preconditioner(try PreconditionerSpec(parsing: c.spec)).get()
            try DiagonalFormula.expectMatches(p, DiagonalFormula.expected(diagonal, eps: c.eps, exponent: c.exponent), c.spec)
            try DiagonalFormula.expectUnitDeterminant(p, c.spec)
        }
        // The always-zero pixels' weights have zero curvature: without eps their entries are infinite.
        #expect(diagonal.contains(0))
        let error = #expect(throws: EstimatorError.self) {
            try estimation.preconditioner(try PreconditionerSpec(parsing: "fisher:eps=0")).get()
        }
        #expect(error?.code == "preconditioner.degenerate")
    }
}
