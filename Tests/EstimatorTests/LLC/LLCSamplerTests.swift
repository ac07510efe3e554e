import Synchronization
import Testing
@testable import Estimator

/// L(w) = ½ Σ_{i<r} λ_i w_i² in D dimensions, the same on every row: a loss of known rank.
/// Records the last θ it was evaluated at; returns NaN past `nanBeyond`.
final class QuadraticLoss: SGLDLoss, Sendable {
    typealias Scalar = Float
    let lambdas: [Double]
    let dimension: Int
    let rows: Int
    let nanBeyond: Float?
    let lastTheta = Mutex<[Float]>([])

    init(lambdas: [Double], dimension: Int, rows: Int = 1, nanBeyond: Float? = nil) {
        self.lambdas = lambdas
        self.dimension = dimension
        self.rows = rows
        self.nanBeyond = nanBeyond
    }

    func batch(_ rows: [Int]) -> [Int] { rows }

    func lossAndGradient(at theta: [Float], batch: [Int], gradient: UnsafeMutablePointer<Float>) -> Double {
        lastTheta.withLock { $0 = theta }
        if let nanBeyond, theta.contains(where: { abs($0) > nanBeyond }) { return .nan }
        gradient.update(repeating: 0, count: dimension)
        var loss = 0.0
        for (i, lambda) in lambdas.enumerated() {
            loss += 0.5 * lambda * Double(theta[i]) * Double(theta[i])
            gradient[i] = Float(lambda) * theta[i]
        }
        return loss
    }
}

@Suite struct LLCSamplerTests {
    static func settings(_ change: (inout LLCSettings) -> Void) -> LLCSettings {
        var s = LLCSettings()
        change(&s)
        return s
    }

    /// At stationarity E[nβ·L] = Σ ½·nβλ_i/(nβλ_i + γ) → r/2 when nβλ_min ≫ γ.
    @Test func aQuadraticOfRankRHasAnLLCOfHalfR() throws {
        let r = 10
        let lambdas = (0..<r).map { 1 + 3 * Double($0) / Double(r - 1) }
        let loss = QuadraticLoss(lambdas: lambdas, dimension: 30)
        let settings = Self.settings {
            $0.epsilon = 1e-4
            $0.gamma = 1
            $0.nbeta = 100
            $0.chains = 4
            $0.burnIn = 1000
            $0.draws = 4000
            $0.seed = 3
        }
        let estimate = try LLCSampler(loss: loss, anchor: [Float](repeating: 0, count: 30), settings: settings).run(threads: 2)
        #expect(estimate.initLoss == 0)
        #expect(estimate.dimension == 30)
        #expect(estimate.chains.allSatisfy { $0.divergence == nil && $0.losses.count == 5000 })
        #expect(abs(estimate.mean - Double(r) / 2) <= 0.1 * Double(r) / 2, "LLC \(estimate.mean) vs \(Double(r) / 2)")
        let exact = lambdas.reduce(0) { $0 + 0.5 * 100 * $1 / (100 * $1 + 1) }
        #expect(abs(estimate.mean - exact) <= 0.05 * exact, "LLC \(estimate.mean) vs \(exact)")
    }

    @Test func aSubsetMovesOnlyTheSelectedWeights() throws {
        let (model, _) = try MLPTests.digits(3000)
        let selection = try ParameterSelection(patterns: ["2.*"], layout: model.layout)
        let loss = QuadraticLoss(lambdas: [1, 1], dimension: model.layout.count)
        let estimate = try LLCSampler(loss: loss, anchor: model.anchor, settings: Self.settings { $0.chains = 1; $0.draws = 5 },
                                      selection: selection).run(threads: 1)
        #expect(estimate.dimension == 64 * 10 + 10)
        let theta = loss.lastTheta.withLock { $0 }
        let outside = Set(0..<model.layout.count).subtracting(selection.ranges.joined())
        #expect(outside.allSatisfy { theta[$0] == model.anchor[$0] })
        #expect(selection.ranges.joined().allSatisfy { theta[$0] != model.anchor[$0] })
    }

    @Test func aHugeStepSizeIsReportedAsABlowUpAtItsStep() throws {
        let loss = QuadraticLoss(lambdas: Array(repeating: 1, count: 10), dimension: 10)
        // w₁ = 100ξ: ½‖w₁‖² ≈ 5·10⁴, far past L(w*) + 100.
        let estimate = try LLCSampler(loss: loss, anchor: [Float](repeating: 0, count: 10),
                                      settings: Self.settings { $0.epsilon = 1e4; $0.gamma = 0; $0.nbeta = 1; $0.chains = 2 }).run(threads: 2)
        for chain in estimate.chains {
            #expect(chain.divergence?.step == 1)
            #expect(chain.divergence?.kind == .blowUp)
            #expect(chain.losses.count == 2)
            #expect(chain.llc.isNaN && !chain.flatAfterBurnIn)
        }
        #expect(estimate.mean.isNaN)
    }

    @Test func aNonFiniteLossIsReportedAtItsStep() throws {
        let loss = QuadraticLoss(lambdas: [1], dimension: 4, nanBeyond: 1000)
        let estimate = try LLCSampler(loss: loss, anchor: [0, 0, 0, 0],
                                      settings: Self.settings { $0.epsilon = 1e8; $0.gamma = 0; $0.chains = 1 }).run(threads: 1)
        #expect(estimate.chains[0].divergence?.kind == .nonFinite)
        #expect(estimate.chains[0].divergence?.step == 1)
    }

    @Test func aSeedGivesTheSameChainsOnAnyNumberOfThreads() throws {
        let estimation = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-3000"))
        let settings = Self.settings { $0.chains = 3; $0.draws = 15; $0.burnIn = 2; $0.seed = 9 }
        let one = try estimation.llc(settings, threads: 1)
        let two = try estimation.llc(settings, threads: 2)
        #expect(one.chains == two.chains)
        #expect(one.chains[0].losses != one.chains[1].losses)
        let other = try estimation.llc(Self.settings { $0.chains = 3; $0.draws = 15; $0.burnIn = 2; $0.seed = 10 }, threads: 2)
        #expect(other.chains[0].losses != one.chains[0].losses)
    }

    @Test func theDigitsLLCIsPositiveWithItsSettingsResolved() throws {
        let estimation = try CheckpointEstimation(path: Fixtures.path("digits/checkpoint-3000"))
        let estimate = try estimation.llc(Self.settings { $0.chains = 2; $0.draws = 40 }, threads: 2)
        #expect(estimate.batchSize == 32)
        #expect(abs(estimate.nbeta - 32 / log(32.0)) < 1e-12)
        #expect(estimate.dimension == 4810)
        #expect(estimate.initLoss > 0 && estimate.initLoss < 1)
        #expect(estimate.chains.allSatisfy { $0.divergence == nil && $0.losses.count == 40 && $0.llc > 0 })
        #expect(estimate.secondsPerDraw > 0 && estimate.secondsPerDraw <= estimate.seconds)
        let subset = try estimation.llc(Self.settings { $0.chains = 1; $0.draws = 5; $0.parameters = ["0.bias"] }, threads: 1)
        #expect(subset.dimension == 64)
    }

    @Test func aBatchLargerThanTheDataIsClampedToItsRows() throws {
        let estimation = try CheckpointEstimation(path: Fixtures.path("neox-tiny/checkpoint-60"))
        let estimate = try estimation.llc(Self.settings { $0.chains = 1; $0.draws = 3; $0.batchSize = 32 }, threads: 1)
        #expect(estimate.batchSize == 8)
        #expect(abs(estimate.nbeta - 8 / log(8.0)) < 1e-12)
        #expect(estimate.chains[0].losses.count == 3 && estimate.chains[0].llc.isFinite)
    }

    @Test func theBatchOrderIsASeededPermutation() {
        let order = LLCSampler<QuadraticLoss>.batchOrder(seed: 1, rows: 773)
        #expect(order.sorted() == Array(0..<773))
        #expect(order != Array(0..<773))
        #expect(order == LLCSampler<QuadraticLoss>.batchOrder(seed: 1, rows: 773))
        #expect(order != LLCSampler<QuadraticLoss>.batchOrder(seed: 2, rows: 773))
    }

    @Test func aTrendIsNotFlatAndNoiseIs() {
        var random = TestRandom(seed: 4)
        let noise = (0..<300).map { _ in random.symmetric() }
        #expect(LLCSampler<QuadraticLoss>.isFlat(noise[...]))
        #expect(!LLCSampler<QuadraticLoss>.isFlat(noise.enumerated().map { $1 + Double($0) / 100 }[...]))
    }

    @Test(arguments: ["epsilon", "gamma", "nbeta", "chains", "draws", "burn-in", "batch size"])
    func invalidSettingsAreRefused(name: String) {
        var settings = LLCSettings()
        switch name {
        case "epsilon": settings.epsilon = 0
        case "gamma": settings.gamma = -1
        case "nbeta": settings.nbeta = 0
        case "chains": settings.chains = 0
        case "draws": settings.draws = 0
        case "burn-in": settings.burnIn = -1
        default: settings.batchSize = 0
        }
        let error = #expect(throws: EstimatorError.self) { try settings.validate() }
        #expect(error?.code == "llc.settings")
        #expect(error?.detail.contains(name) == true)
    }
}

#if canImport(Glibc)
import Glibc
#endif
