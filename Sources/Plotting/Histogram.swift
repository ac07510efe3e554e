import Foundation

/// Finite values counted in equal bins with round edges (1, 2 or 5 × 10ⁿ wide); infinite and
/// NaN values are counted apart, never binned.
public struct Histogram: Sendable, Equatable {
    /// The first bin's lower edge.
    public let lower: Double
    public let binWidth: Double
    /// Bin i holds values in [lower + i·binWidth, lower + (i+1)·binWidth).
    public let counts: [Int]
    public let infinite: Int
    public let notANumber: Int

    /// About `targetBins` bins (by default ⌈√n⌉, between 1 and 30) over the finite values.
    public init(_ values: [Double], targetBins: Int? = nil) {
        let finite = values.filter(\.isFinite)
        infinite = values.count { $0.isInfinite }
        notANumber = values.count { $0.isNaN }
        guard let minimum = finite.min(), let maximum = finite.max() else {
            lower = 0
            binWidth = 1
            counts = []
            return
        }
        let target = targetBins ?? min(30, max(1, Int(Double(finite.count).squareRoot().rounded(.up))))
        var width = AxisScale.niceStep(lower: minimum, upper: maximum, targetTicks: max(target, 1), minimum: 0)
        if !(width > 0 && width.isFinite) {
            // One value (or all equal): one bin around it, as wide as a round number near it.
            let magnitude = abs(minimum)
            width = magnitude > 0 ? pow(10, log10(magnitude).rounded(.down) - 1) : 1
        }
        let first = (minimum / width).rounded(.down)
        // A value on an edge belongs to the bin above it, despite the division's rounding.
        func index(_ v: Double) -> Int { Int((v / width - first + 1e-9).rounded(.down)) }
        var counts = Array(repeating: 0, count: index(maximum) + 1)
        for v in finite { counts[min(max(index(v), 0), counts.count - 1)] += 1 }
        lower = first * width
        binWidth = width
        self.counts = counts
    }

    public var upper: Double { lower + binWidth * Double(counts.count) }

    /// Values binned.
    public var binned: Int { counts.reduce(0, +) }
}
