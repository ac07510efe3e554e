import Foundation

/// A linear plot axis: the range it spans and tick values 1, 2 or 5 times a power of ten
/// apart, so that the labels are round numbers.
struct AxisScale: Sendable, Equatable {
    let lower: Double
    let upper: Double
    let tickStep: Double
    let ticks: [Double]

    /// Spans `values` with a 5% margin on each side and places about `targetTicks` ticks
    /// inside. A single value or a flat series still gets an axis (±1% of the value, at
    /// least ±1 when `integral`); `integral` keeps ticks on whole numbers (training steps).
    init(covering values: [Double], targetTicks: Int = 6, integral: Bool = false) {
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
        lower = lo
        upper = hi
        let step = Self.niceStep(lower: lo, upper: hi, targetTicks: targetTicks, minimum: integral ? 1 : 0)
        tickStep = step
        guard step.isFinite, step > 0, (hi - lo).isFinite else {
            ticks = [lo, hi].filter(\.isFinite)
            return
        }
        // Multiples of the step (not a running sum) keep labels exact: 0.3, not 0.30000000000000004.
        let first = (lo / step).rounded(.up)
        let count = min(Self.tickCount(lower: lo, upper: hi, step: step), 100)
        ticks = (0..<count).map { i in
            let t = (first + Double(i)) * step
            return t == 0 ? 0 : t
        }
    }

    /// The step of the form 1, 2 or 5 × 10ⁿ (at least `minimum`) that puts the number of
    /// ticks in [lower, upper] closest to `targetTicks` by ratio (9 is nearer 6 than 3 is).
    static func niceStep(lower: Double, upper: Double, targetTicks: Int, minimum: Double) -> Double {
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
    func position(_ value: Double, from: Double, to: Double) -> Double {
        from + (value - lower) / (upper - lower) * (to - from)
    }

    /// A tick label with as many decimals as the tick step needs and a true minus sign.
    func label(_ value: Double) -> String {
        let decimals = tickStep > 0 && tickStep.isFinite ? max(0, -Int(log10(tickStep).rounded(.down))) : 0
        var text = String(format: "%.\(decimals)f", value)
        if text.hasPrefix("-") {
            text = text.allSatisfy({ $0 == "-" || $0 == "0" || $0 == "." }) ? String(text.dropFirst()) : "−" + text.dropFirst()
        }
        return text
    }
}
