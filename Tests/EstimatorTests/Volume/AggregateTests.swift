import Glibc
import Testing
@testable import Estimator

@Suite struct AggregateTests {
    @Test func equalSamplesGiveThatValueAndFullSampleSize() throws {
        let aggregate = Aggregate(samples: [0, 0], seed: 1)
        #expect(aggregate.logVolume == 0)
        #expect(aggregate.bits == 0)
        #expect(aggregate.log10Volume == 0)
        #expect(aggregate.maxSample == 0)
        #expect(aggregate.ess == 2)
        #expect(aggregate.interval == Aggregate.Interval(low: 0, high: 0))

        let four = Aggregate(samples: [5, 5, 5, 5], seed: 1)
        #expect(four.logVolume == 5)
        #expect(four.ess == 4)
        #expect(four.interval == Aggregate.Interval(low: 5, high: 5))
    }

    @Test func averagesInLinearSpaceWithoutUnderflow() throws {
        // (e^-1000 + 3·e^-1000)/2 = 2·e^-1000: both terms underflow in plain exp.
        let aggregate = Aggregate(samples: [-1000, -1000 + log(3.0)], seed: 1)
        let logVolume = try #require(aggregate.logVolume)
        #expect(abs(logVolume - (-1000 + log(2.0))) <= 1e-12)
        #expect(abs(try #require(aggregate.bits) - logVolume / log(2.0)) <= 1e-12)
        #expect(abs(try #require(aggregate.log10Volume) - logVolume / log(10.0)) <= 1e-12)
        // Weights 1/3 and 1: ess = (4/3)² / (1/9 + 1) = 1.6.
        #expect(abs(try #require(aggregate.ess) - 1.6) <= 1e-12)
    }

    @Test func largeSamplesDoNotOverflow() throws {
        let aggregate = Aggregate(samples: [1e6, 1e6], seed: 3)
        #expect(aggregate.logVolume == 1e6)
        let mixed = Aggregate(samples: [800, 800 + log(2.0), 800 + log(5.0)], seed: 3)
        #expect(abs(try #require(mixed.logVolume) - (800 + log(8.0 / 3))) <= 1e-12)
    }

    @Test func oneDominatingSampleGivesSampleSizeOne() throws {
        let aggregate = Aggregate(samples: [0, -800, -900, -50], seed: 2)
        #expect(abs(try #require(aggregate.logVolume) - (log1p(exp(-50.0)) - log(4.0))) <= 1e-12)
        #expect(abs(try #require(aggregate.ess) - 1) <= 1e-20)
        #expect(aggregate.maxSample == 0)
    }

    @Test func negativeInfinitySamplesCarryNoWeight() throws {
        let aggregate = Aggregate(samples: [-.infinity, 0], seed: 4)
        #expect(aggregate.logVolume == -log(2.0))
        #expect(aggregate.ess == 1)
        // Resamples of two: {0, 0} → 0, mixed → −log 2, {−∞, −∞} → −∞ (a quarter of them each).
        #expect(aggregate.interval == Aggregate.Interval(low: -.infinity, high: 0))
    }

    @Test func allNegativeInfinityIsZeroVolume() {
        let aggregate = Aggregate(samples: [-.infinity, -.infinity, -.infinity], seed: 5)
        #expect(aggregate.logVolume == -.infinity)
        #expect(aggregate.bits == -.infinity)
        #expect(aggregate.log10Volume == -.infinity)
        #expect(aggregate.maxSample == -.infinity)
        #expect(aggregate.ess == nil)
        #expect(aggregate.interval == Aggregate.Interval(low: -.infinity, high: -.infinity))
    }

    @Test func anInfiniteSampleMeansInfiniteVolume() {
        let aggregate = Aggregate(samples: [1, .infinity, -3], seed: 6)
        #expect(aggregate.logVolume == nil)
        #expect(aggregate.log10Volume == nil)
        #expect(aggregate.bits == nil)
        #expect(aggregate.maxSample == .infinity)
        #expect(aggregate.ess == nil)
        #expect(aggregate.interval == nil)
    }

    @Test func noSamplesGiveNoEstimate() {
        let aggregate = Aggregate(samples: [], seed: 7)
        #expect(aggregate.logVolume == nil)
        #expect(aggregate.maxSample == -.infinity)
        #expect(aggregate.ess == nil)
        #expect(aggregate.interval == nil)
    }

    @Test func nanSamplePropagates() throws {
        let aggregate = Aggregate(samples: [1, .nan], seed: 7)
        #expect(try #require(aggregate.logVolume).isNaN)
        #expect(try #require(aggregate.ess).isNaN)
        #expect(aggregate.interval == nil)
    }

    @Test func zeroResamplesSkipTheInterval() {
        let aggregate = Aggregate(samples: [1, 2, 3], seed: 8, resamples: 0)
        #expect(aggregate.logVolume != nil)
        #expect(aggregate.interval == nil)
    }

    private func spreadSamples(_ k: Int) -> [Double] {
        // Log-estimates spread over tens of nats, like per-direction samples of a real model.
        (0..<k).map { i in -1000 + 40 * sin(Double(i) * 1.7) + Double(i % 7) }
    }

    @Test func bootstrapIsDeterministicForASeed() {
        let samples = spreadSamples(50)
        let a = Aggregate(samples: samples, seed: 123)
        #expect(Aggregate(samples: samples, seed: 123) == a)
        #expect(Aggregate(samples: samples, seed: 124).interval != a.interval)
        #expect(Aggregate(samples: samples, seed: 124).logVolume == a.logVolume)
    }

    @Test func intervalBracketsTheEstimateWithinTheSampleRange() throws {
        for k in [2, 3, 10, 100] {
            let samples = spreadSamples(k)
            let aggregate = Aggregate(samples: samples, seed: 9)
            let interval = try #require(aggregate.interval)
            let logVolume = try #require(aggregate.logVolume)
            // Every resample's log mean lies between the smallest and the largest sample.
            #expect(samples.min()! <= interval.low)
            #expect(interval.low <= logVolume)
            #expect(logVolume <= interval.high)
            #expect(interval.high <= samples.max()!)
        }
    }

    @Test func resamplesFarBelowTheMaximumAreSummedExactly() throws {
        // Samples 10^6 nats apart: resamples without the top sample (about 30%) must still get
        // finite values; those drawing only −10^6 (1/27 of them, more than 2.5%) give exactly −10^6.
        let aggregate = Aggregate(samples: [-1e6, 0, -2000], seed: 10)
        let interval = try #require(aggregate.interval)
        #expect(interval.low == -1e6)
        #expect(abs(try #require(aggregate.logVolume) + log(3.0)) <= 1e-12)
    }

    @Test func bootstrapDrawsAreUniform() {
        var draws = BootstrapDraws(seed: 77, count: 10)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0..<100_000 { counts[draws.next()] += 1 }
        // Each count ~ Binomial(10^5, 0.1): standard deviation ≈ 95.
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })
    }

    @Test func quantileInterpolatesBetweenOrderStatistics() {
        #expect(Aggregate.quantile([1, 2, 3, 4, 5], 0.5) == 3)
        #expect(Aggregate.quantile([0, 10], 0.25) == 2.5)
        #expect(Aggregate.quantile([-.infinity, 0], 0.5) == -.infinity)
        #expect(Aggregate.quantile([7], 0.975) == 7)
    }
}
