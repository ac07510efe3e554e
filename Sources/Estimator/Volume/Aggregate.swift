import Glibc

/// The volume estimate from k per-direction log-estimates s_i (paper eqs. 15 and 19): the log of
/// the mean of e^(s_i), with the effective sample size and a bootstrap interval over directions.
public struct Aggregate: Sendable, Equatable {
    /// A 95% percentile bootstrap interval of `logVolume` (nats).
    public struct Interval: Sendable, Equatable {
        public let low: Double
        public let high: Double

        public init(low: Double, high: Double) {
            self.low = low
            self.high = high
        }
    }

    public let logVolume: Double?     // logsumexp(s) − log k (nats); nil if any sample is +∞ (infinite volume)
    public let log10Volume: Double?   // logVolume / ln 10
    public let bits: Double?          // logVolume / ln 2
    public let maxSample: Double      // may be +∞
    public let ess: Double?           // (Σw)²/Σw² with w_i = exp(s_i − max); nil if infinite
    public let interval: Interval?    // 95% percentile bootstrap of logVolume, 1000 resamples

    /// Everything is nil (and `maxSample` −∞) without samples. All samples −∞ (zero volume) give
    /// `logVolume` −∞, an interval (−∞, −∞) and a nil `ess` (no sample carries weight). A NaN
    /// sample (a bug upstream) makes the estimates and `ess` NaN and the interval nil. The
    /// bootstrap draws come from Philox keyed by `seed` on a stream no direction uses, so the
    /// interval is reproducible for a seed.
    public init(samples: [Double], seed: UInt64, resamples: Int = 1000) {
        let k = samples.count
        let maximum = samples.reduce(-Double.infinity) { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }
        maxSample = maximum
        guard k > 0, maximum != .infinity else {
            logVolume = nil
            log10Volume = nil
            bits = nil
            ess = nil
            interval = nil
            return
        }
        let logMean = Self.logMeanExp(samples, maximum: maximum)
        logVolume = logMean
        log10Volume = logMean / M_LN10
        bits = logMean / M_LN2
        if maximum.isFinite {
            var sum = 0.0, sumOfSquares = 0.0
            for s in samples {
                let w = exp(s - maximum)
                sum += w
                sumOfSquares += w * w
            }
            ess = sum * sum / sumOfSquares
        } else {
            ess = maximum.isNaN ? .nan : nil
        }
        interval = resamples > 0 && !maximum.isNaN
            ? Self.bootstrap(samples, maximum: maximum, seed: seed, resamples: resamples)
            : nil
    }

    /// log((1/k)·Σ e^(s_i)) given max s_i (finite, −∞ or NaN), stable for any spread of values.
    static func logMeanExp(_ samples: [Double], maximum: Double) -> Double {
        guard maximum.isFinite else { return maximum }
        var sum = 0.0
        for s in samples { sum += exp(s - maximum) }
        return maximum + log(sum) - log(Double(samples.count))
    }

    /// Percentile bootstrap: `resamples` times, draw k directions with replacement and take the log
    /// mean; the 2.5% and 97.5% quantiles (linear interpolation) of those values.
    static func bootstrap(_ samples: [Double], maximum: Double, seed: UInt64, resamples: Int) -> Interval {
        let k = samples.count
        var draws = BootstrapDraws(seed: seed, count: k)
        // Weights relative to the overall maximum, so a resample's mean needs no exp; a resample
        // whose own maximum is far below it (weights near underflow) is summed exactly instead.
        let weights = samples.map { maximum.isFinite ? exp($0 - maximum) : 0 }
        var values = [Double](repeating: 0, count: resamples)
        for b in 0..<resamples {
            let start = draws.position
            var sum = 0.0
            var resampleMaximum = -Double.infinity
            for _ in 0..<k {
                let i = draws.next()
                sum += weights[i]
                resampleMaximum = max(resampleMaximum, samples[i])
            }
            if resampleMaximum >= maximum - 600 {
                values[b] = maximum + log(sum) - log(Double(k))
            } else if resampleMaximum == -.infinity {
                values[b] = -.infinity
            } else {
                draws.position = start
                var exact = 0.0
                for _ in 0..<k { exact += exp(samples[draws.next()] - resampleMaximum) }
                values[b] = resampleMaximum + log(exact) - log(Double(k))
            }
        }
        values.sort()
        return Interval(low: quantile(values, 0.025), high: quantile(values, 0.975))
    }

    /// The p-quantile of sorted values, interpolating linearly between order statistics
    /// (Hyndman–Fan type 7); −∞ neighbours give −∞ rather than NaN.
    static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        let position = p * Double(sorted.count - 1)
        let below = Int(position.rounded(.down))
        let fraction = position - Double(below)
        guard below + 1 < sorted.count, fraction > 0 else { return sorted[below] }
        let low = sorted[below], high = sorted[below + 1]
        if low == high || low == -.infinity { return low }
        return low + fraction * (high - low)
    }
}

/// Uniform indices in 0..<count for the bootstrap: draw q uses the 64-bit half q % 2 of Philox
/// block q/2 on the bootstrap stream, mapped to an index by the high word of a 64×64-bit product.
struct BootstrapDraws {
    let philox: Philox
    let count: Int
    var position: UInt64 = 0
    private var block = SIMD4<UInt32>()
    private var blockPosition = UInt64.max

    init(seed: UInt64, count: Int) {
        philox = Philox(key: seed)
        self.count = count
    }

    mutating func next() -> Int {
        if blockPosition != position / 2 {
            blockPosition = position / 2
            block = philox.block(stream: Philox.bootstrapStream, position: blockPosition)
        }
        let word = position % 2 == 0
            ? UInt64(block[0]) | UInt64(block[1]) << 32
            : UInt64(block[2]) | UInt64(block[3]) << 32
        position += 1
        return Int(word.multipliedFullWidth(by: UInt64(count)).high)
    }
}
