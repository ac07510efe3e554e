import Foundation

/// A plot axis: the range it spans and its tick values. A linear axis puts ticks 1, 2 or 5
/// times a power of ten apart, so that the labels are round numbers; a logarithmic one puts
/// them at powers of ten (and at 2 and 5 times them when the range spans three decades or less).
/// Ticks, bounds and `position` are in data units on both kinds.
public struct AxisScale: Sendable, Equatable {
    public let lower: Double
    public let upper: Double
    /// The distance between ticks on a linear axis; 0 on a logarithmic one.
    public let tickStep: Double
    public let ticks: [Double]
    public let isLogarithmic: Bool
    /// log10 of the bounds on a logarithmic axis, for `position`.
    private let logLower: Double
    private let logUpper: Double

    /// Spans `values` with a 5% margin on each side and places about `targetTicks` ticks
    /// inside. A single value or a flat series still gets an axis (±1% of the value, at
    /// least ±1 when `integral`); `integral` keeps ticks on whole numbers (training steps).
    public init(covering values: [Double], targetTicks: Int = 6, integral: Bool = false) {
        let finite = values.filter(\.isFinite)
        var lo = finite.min() ?? 0
        var hi = finite.max() ?? 1
        let magnitude = max(abs(lo), abs(hi))
        if hi - lo <= magnitude * 1e-12 {
            var half = magnitude > 0 ? magnitude * 0.01 : 1
            if integral { half = max(half, 1) }
            lo -= half
            hi += half
        } else {
            let margin = (hi - lo) * 0.05
            lo -= margin
            hi += margin
        }
        self.init(from: lo, to: hi, targetTicks: targetTicks, integral: integral)
    }

    /// Spans exactly [lower, upper] (no margin), with about `targetTicks` round ticks inside.
    public init(from lower: Double, to upper: Double, targetTicks: Int = 6, integral: Bool = false) {
        self.lower = lower
        self.upper = upper
        isLogarithmic = false
        logLower = 0
        logUpper = 0
        let (step, ticks) = Self.linearTicks(lower: lower, upper: upper, targetTicks: targetTicks, integral: integral)
        tickStep = step
        self.ticks = ticks
    }

    /// A logarithmic axis over the positive `values` (others are ignored: the caller says what
    /// it left out), with a margin of 5% of the decades spanned on each side. `integral` keeps
    /// ticks on whole numbers of at least 1 (training steps).
    public init(logarithmicCovering values: [Double], integral: Bool = false) {
        let logs = values.filter { $0 > 0 && $0.isFinite }.map(log10)
        var lo = logs.min() ?? 0
        var hi = logs.max() ?? 1
        if hi - lo < 1e-12 {
            lo -= 0.1
            hi += 0.1
        } else {
            let margin = (hi - lo) * 0.05
            lo -= margin
            hi += margin
        }
        lower = pow(10, lo)
        upper = pow(10, hi)
        logLower = lo
        logUpper = hi
        isLogarithmic = true
        tickStep = 0
        let decades = Int((hi - lo).rounded(.up))
        let mantissas: [Double] = decades > 3 ? [1] : decades >= 1 ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9]
        var ticks: [Double] = []
        for exponent in Int(lo.rounded(.down))...Int(hi.rounded(.up)) {
            for m in mantissas {
                // Exact powers of ten from the literal, not pow's rounding (1000, not 999.9999999999999).
                let t = exponent >= 0 ? m * Self.powerOfTen(exponent) : m / Self.powerOfTen(-exponent)
                if t >= lower, t <= upper, !integral || (t >= 1 && t == t.rounded()) { ticks.append(t) }
            }
        }
        if ticks.count < 2 {
            // Less than a decade: round linear ticks still read better than none.
            ticks = Self.linearTicks(lower: lower, upper: upper, targetTicks: 4, integral: integral).ticks.filter { $0 > 0 }
        }
        self.ticks = ticks
    }

    private static func powerOfTen(_ exponent: Int) -> Double {
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    private static func linearTicks(lower: Double, upper: Double, targetTicks: Int, integral: Bool) -> (step: Double, ticks: [Double]) {
        let step = niceStep(lower: lower, upper: upper, targetTicks: targetTicks, minimum: integral ? 1 : 0)
        guard step.isFinite, step > 0, (upper - lower).isFinite else {
            return (step, [lower, upper].filter(\.isFinite))
        }
        // Multiples of the step (not a running sum) keep labels exact: 0.3, not 0.30000000000000004.
        let first = (lower / step).rounded(.up)
        let count = min(tickCount(lower: lower, upper: upper, step: step), 100)
        return (step, (0..<count).map { i in
            let t = (first + Double(i)) * step
            return t == 0 ? 0 : t
        })
    }

    /// The step of the form 1, 2 or 5 × 10ⁿ (at least `minimum`) that puts the number of
    /// ticks in [lower, upper] closest to `targetTicks` by ratio (9 is nearer 6 than 3 is).
    public static func niceStep(lower: Double, upper: Double, targetTicks: Int, minimum: Double) -> Double {
        let raw = (upper - lower) / Double(max(targetTicks, 1))
        guard raw.isFinite, raw > 0 else { return max(raw, minimum) }
        let power = pow(10, log10(raw).rounded(.down))
        func distance(_ step: Double) -> Double {
            let count = tickCount(lower: lower, upper: upper, step: step)
            return count == 0 ? .infinity : abs(log(Double(count) / Double(max(targetTicks, 1))))
        }
        return [0.5, 1, 2, 5, 10, 20].map { $0 * power }.filter { $0 >= minimum }
            .min { distance($0) < distance($1) } ?? minimum
    }

    private static func tickCount(lower: Double, upper: Double, step: Double) -> Int {
        let count = (upper / step).rounded(.down) - (lower / step).rounded(.up) + 1
        return count.isFinite ? Int(max(0, min(count, 1e6))) : 0
    }

    /// Where `value` falls along an axis drawn from `from` (at `lower`) to `to` (at `upper`).
    public func position(_ value: Double, from: Double, to: Double) -> Double {
        if isLogarithmic {
            return from + (log10(value) - logLower) / (logUpper - logLower) * (to - from)
        }
        return from + (value - lower) / (upper - lower) * (to - from)
    }

    /// A tick label with as many decimals as the tick step (or, on a logarithmic axis, the
    /// tick itself) needs and a true minus sign.
    public func label(_ value: Double) -> String {
        Self.label(value, resolution: isLogarithmic ? value : tickStep)
    }

    /// `value` with as many decimals as steps of `resolution` need, and a true minus sign.
    public static func label(_ value: Double, resolution: Double) -> String {
        let decimals = resolution > 0 && resolution.isFinite ? max(0, -Int(log10(resolution).rounded(.down))) : 0
        var text = String(format: "%.\(decimals)f", value)
        if text.hasPrefix("-") {
            text = text.allSatisfy({ $0 == "-" || $0 == "0" || $0 == "." }) ? String(text.dropFirst()) : "−" + text.dropFirst()
        }
        return text
    }
}
