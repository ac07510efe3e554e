import Foundation

/// One line of a volume-vs-step plot: its legend label and its points. Built by whoever knows
/// what a series is (`volumed report`'s runs, the dashboard's estimate keys); the plot only
/// draws it.
public struct PlotSeries: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public var step: Int64
        /// nil for an infinite volume (uniform measure with unbounded directions).
        public var log10Volume: Double?
        /// 95% bootstrap interval, in log10.
        public var interval: ClosedRange<Double>?
        /// Where the point's marker leads (the dashboard's checkpoint page); nil draws a bare marker.
        public var link: PointLink?

        public init(step: Int64, log10Volume: Double?, interval: ClosedRange<Double>? = nil, link: PointLink? = nil) {
            self.step = step
            self.log10Volume = log10Volume
            self.interval = interval
            self.link = link
        }

        /// The stored bootstrap interval (natural log, as the database keeps it) in log10; nil
        /// when either end is missing or not finite, or the ends are out of order.
        public static func log10Interval(natsLow low: Double?, natsHigh high: Double?) -> ClosedRange<Double>? {
            guard let low, let high, low.isFinite, high.isFinite, low <= high else { return nil }
            return (low / M_LN10)...(high / M_LN10)
        }
    }

    public var label: String
    /// In step order.
    public var points: [Point]
    /// Estimates of checkpoints without a step: they cannot be placed, so the plot counts them.
    public var unplaced: Int

    public init(label: String, points: [Point], unplaced: Int = 0) {
        self.label = label
        self.points = points
        self.unplaced = unplaced
    }
}

/// A point marker's link: `<a href="…" data-name="value" …>` around the marker.
public struct PointLink: Sendable, Equatable {
    public var href: String
    /// `data-*` attributes, written in this order; names are ASCII letters, digits and hyphens.
    public var data: [(name: String, value: String)]

    public init(href: String, data: [(name: String, value: String)] = []) {
        self.href = href
        self.data = data
    }

    public static func == (a: PointLink, b: PointLink) -> Bool {
        a.href == b.href && a.data.elementsEqual(b.data) { $0.name == $1.name && $0.value == $1.value }
    }
}
