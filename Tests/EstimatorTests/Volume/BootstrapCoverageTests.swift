import Testing
import Glibc
@testable import Estimator

/// How often `Aggregate`'s 95% bootstrap interval contains the true log-mean-exp, over 1,000
/// synthetic estimates of k = 100 per-direction log-estimates each, in three regimes. With
/// log-estimates well spread the interval only sees the directions drawn, so it is a lower
/// bound on the uncertainty, which only repeated seeds measure: coverage is asserted where the
/// weights are balanced (sd 1) and printed as measured for the other two.
@Suite struct BootstrapCoverageTests {
    static let k = 100
    static let repetitions = 1000
    /// Where the log-estimates sit: digits' average −8,400 to −11,500 nats.
    static let center = -10_000.0

    enum Regime: String, CaseIterable, Sendable {
        /// s_i ~ N(μ, 1): true log E[e^s] = μ + ½ (lognormal mean); ess ≈ k/e.
        case sd1
        /// s_i ~ N(μ, 5²): true log E[e^s] = μ + 12.5; a few directions carry the weight.
        case sd5
        /// Spread like the fixtures' (ess = 1): k draws with replacement from a fixed population
        /// of `populationSize` values μ + `fixtureSD`·z; "true" is the population's exact
        /// log-mean-exp, the value the estimator converges to as k grows to many times the
        /// population. (The lognormal formula μ + s²/2 would put it 661,000 nats above μ.)
        case fixtureSpread

        /// The per-direction log-estimates' standard deviation on digits: 1,079–1,238 nats for
        /// checkpoints 100 and 3000 with `none` and `adam` (cutoff 1e-2, k = 100, seed 0; ess 1,
        /// and close to normal between the 1st and 99th percentile).
        static let fixtureSD = 1150.0
        static let populationSize = 100_000

        var truth: Double {
            switch self {
            case .sd1: BootstrapCoverageTests.center + 0.5
            case .sd5: BootstrapCoverageTests.center + 12.5
            case .fixtureSpread: Self.populationLogMeanExp
            }
        }

        static let population: [Double] = {
            var random = TestRandom(seed: 0xF1_5A)
            return (0..<populationSize).map { _ in BootstrapCoverageTests.center + fixtureSD * random.normal() }
        }()

        /// Exact in float64: the terms below the maximum by more than 745 nats are 0 either way.
        static let populationLogMeanExp: Double = {
            let top = population.max()!
            return top + log(population.reduce(0) { $0 + exp($1 - top) }) - log(Double(population.count))
        }()

        func samples(_ random: inout TestRandom) -> [Double] {
            let center = BootstrapCoverageTests.center, k = BootstrapCoverageTests.k
            switch self {
            case .sd1: return (0..<k).map { _ in center + random.normal() }
            case .sd5: return (0..<k).map { _ in center + 5 * random.normal() }
            case .fixtureSpread:
                return (0..<k).map { _ in Self.population[Int(random.next() % UInt64(Self.populationSize))] }
            }
        }
    }

    struct Coverage {
        var inside = 0, below = 0, above = 0
        var ess: [Double] = []
        var widths: [Double] = []
        /// How far the truth lies outside the interval, where it does.
        var misses: [Double] = []
    }

    static func measure(_ regime: Regime) throws -> Coverage {
        var random = TestRandom(seed: 1000 + UInt64(Regime.allCases.firstIndex(of: regime)!))
        let truth = regime.truth
        var coverage = Coverage()
        for repetition in 0..<repetitions {
            let aggregate = Aggregate(samples: regime.samples(&random), seed: UInt64(repetition))
            let interval = try #require(aggregate.interval)
            if truth < interval.low {
                coverage.below += 1
                coverage.misses.append(interval.low - truth)
            } else if truth > interval.high {
                coverage.above += 1
                coverage.misses.append(truth - interval.high)
            } else {
                coverage.inside += 1
            }
            coverage.ess.append(try #require(aggregate.ess))
            coverage.widths.append(interval.high - interval.low)
        }
        return coverage
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    @Test(arguments: Regime.allCases)
    func intervalCoverage(regime: Regime) throws {
        let c = try Self.measure(regime)
        let fraction = Double(c.inside) / Double(Self.repetitions)
        print("bootstrap coverage, \(regime): \(fraction) (\(c.inside)/\(Self.repetitions); truth above the interval \(c.above), below \(c.below), "
              + "median miss \(c.misses.isEmpty ? 0 : Self.median(c.misses)) nats); median ess \(Self.median(c.ess)), median width \(Self.median(c.widths)) nats")
        #expect(c.inside + c.below + c.above == Self.repetitions)
        if regime == .sd1 {
            #expect(fraction >= 0.90)
        }
    }
}
