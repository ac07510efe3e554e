import Testing
import Glibc
@testable import Estimator

/// Parameter-subset estimates (docs/estimator.md, "Parameter subsets"): directions only in the
/// selected coordinates, the rest held at the anchor.
@Suite struct SubsetVolumeTests {
    /// C = ½ θᵀHθ with H block-diagonal: a dense block A over `a.weight` and a diagonal block
    /// over `b.weight`. The subset `a.*` with P ∝ H_A^−½ (built from A's block of the full
    /// matrix) under the uniform measure gives the exact ellipsoid volume of A alone in every
    /// direction: log V_d + Σ ½ log(2ε/λ_i) over A's eigenvalues.
    @Test func blockDiagonalQuadraticSubsetGivesItsBlocksEllipsoidVolume() throws {
        let (a, b) = (6, 5)
        let d = a + b
        let layout = ParameterLayout([("a.weight", [2, 3], false), ("b.weight", [b], false)])
        var hessian = [Double](repeating: 0, count: d * d)
        // A = QᵀΛQ-like: a diagonally dominant symmetric block with off-diagonal coupling.
        for i in 0..<a {
            for j in 0..<a { hessian[i * d + j] = i == j ? pow(10, Double(i) / 2 - 1) : 0.01 * Double(i + j + 1) / Double(a) }
        }
        for i in a..<d { hessian[i * d + i] = 50 + Double(i) }
        let selection = try ParameterSelection(patterns: ["a.*"], layout: layout)
        #expect(selection.count == a && selection.ranges == [0..<a])
        let objective = SubsetObjective(DenseQuadraticObjective(hessian: hessian, dimension: d), selection: selection)

        let block = CheckpointEstimation.block(hessian.map(Float.init), dimension: d, selection)
        let eigen = try SymmetricEigen(symmetric: block, dimension: a)
        let perfect = try Preconditioner.hessian(try PreconditionerSpec(parsing: "hessian:eps=0"), eigen)
        let cutoff = 0.01
        let settings = EstimateSettings(cutoffs: [cutoff], prior: .uniform, directions: 16, seed: 5, tolerance: 1e-9)
        let estimator = try VolumeEstimator(objective: objective, anchor: selection.gather([Float](repeating: 0.1, count: d)),
                                            settings: settings, threads: 2)
        #expect(estimator.dimension == a)
        let estimate = try estimator.estimate(preconditioner: perfect)[0]
        let samples = estimate.samples.map(\.logEstimate)
        #expect(samples.max()! - samples.min()! <= 1e-4 * abs(samples[0]))

        var sign: Int32 = 0
        let logUnitBall = Double(a) / 2 * log(Double.pi) - lgamma_r(Double(a) / 2 + 1, &sign)
        let exact = logUnitBall + eigen.values.reduce(0) { $0 + 0.5 * log(2 * cutoff / Double($1)) }
        let logVolume = try #require(estimate.aggregate.logVolume)
        #expect(abs(logVolume - exact) <= 1e-4 * max(1, abs(exact)), "subset \(logVolume), exact \(exact)")
    }

    /// The digits MLP with `--params 0.*`: D is the first layer's 4160 weights and biases, σ and
    /// the anchor are theirs, and every direction the model's evaluator sees is zero outside them.
    @Test func digitsSubsetMovesOnlyTheSelectedWeights() throws {
        var plan = EstimationPlan()
        plan.settings.parameters = ["0.*"]
        plan.settings.directions = 3
        let estimation = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-3000"), base: plan)
        let selection = try #require(estimation.selection)
        #expect(selection.count == 64 * 64 + 64)
        #expect(estimation.objective.dimension == 4160)
        #expect(estimation.anchor == Array(estimation.model.anchor[0..<4160]))

        let subset = try #require(estimation.objective as? SubsetObjective)
        let recorder = RecordingObjective(base: subset.base)
        let recorded = SubsetObjective(recorder, selection: selection)
        let evaluator = recorded.makeEvaluator()
        let direction = LanguageModelFixtures.direction(dimension: 4160, seed: 4, index: 1)
        defer { direction.deallocate() }
        evaluator.setDirection(UnsafeBufferPointer(direction))
        let full = recorder.last.value
        #expect(full.count == 4810)
        #expect(full[4160...].allSatisfy { $0 == 0 })
        #expect(Array(full[0..<4160]) == Array(direction))
        // The same cost as the model's own evaluator along the scattered direction.
        let direct = subset.base.makeEvaluator()
        full.withUnsafeBufferPointer { direct.setDirection($0) }
        #expect(evaluator.cost(at: 0.5) == direct.cost(at: 0.5))

        let outcome = try estimation.outcome(try PreconditionerSpec(kind: .none), cutoffs: [0.01], threads: 2)
        guard case .estimated(let estimates) = outcome else { Issue.record("not estimated"); return }
        let rms = (estimation.anchor.reduce(0.0) { $0 + Double($1) * Double($1) } / 4160).squareRoot()
        #expect(abs(estimates[0].sigma - rms) <= 1e-12 * rms)
    }
}

/// A cost that records the last full-length direction its evaluator was given.
final class RecordingObjective: KLObjective, @unchecked Sendable {
    final class Box: @unchecked Sendable { var value: [Float] = [] }
    let base: any KLObjective
    let last = Box()
    init(base: any KLObjective) { self.base = base }
    var dimension: Int { base.dimension }
    var positions: Int { base.positions }
    func makeEvaluator() -> any RayEvaluator { Evaluator(base.makeEvaluator(), last) }

    final class Evaluator: RayEvaluator {
        let base: any RayEvaluator
        let last: Box
        init(_ base: any RayEvaluator, _ last: Box) {
            self.base = base
            self.last = last
        }
        func setDirection(_ direction: RayDirection) {
            last.value = direction.materialized()
            base.setDirection(direction)
        }
        func cost(at t: Double) -> Double { base.cost(at: t) }
    }
}
