import DB
import Plotting

/// One line of a run's plot: the points of one estimate key, one per step — the newest
/// version of the step that has an estimate of this key — and the estimates of checkpoints
/// without a step, which cannot be placed.
struct RunSeries {
    var key: EstimateKey
    var label: String
    /// In step order; every point has a step.
    var points: [SeriesPoint]
    var stepless: [SeriesPoint]

    /// The run's series in `SeriesLabels.precedes` order, labelled by the key parts that differ.
    static func grouping(_ detail: RunDetail) -> [RunSeries] {
        // The store lists a step's versions oldest first: later in the list is newer.
        var age: [Int64: Int] = [:]
        age.reserveCapacity(detail.checkpoints.count)
        for (i, checkpoint) in detail.checkpoints.enumerated() { age[checkpoint.id] = i }
        func isNewer(_ a: SeriesPoint, than b: SeriesPoint) -> Bool {
            let (ageA, ageB) = (age[a.checkpointID] ?? -1, age[b.checkpointID] ?? -1)
            return ageA != ageB ? ageA > ageB : a.checkpointID > b.checkpointID
        }

        // The store lists points by key, then step: look a key up only when it changes.
        final class Collected {
            let key: EstimateKey
            var points: [SeriesPoint] = []
            var index: [Int64: Int] = [:]
            var stepless: [SeriesPoint] = []
            init(_ key: EstimateKey) { self.key = key }
        }
        var collected: [Collected] = []
        var byKey: [EstimateKey: Collected] = [:]
        var current: Collected?
        for point in detail.points {
            let series: Collected
            if let current, current.key == point.key {
                series = current
            } else if let existing = byKey[point.key] {
                series = existing
            } else {
                series = Collected(point.key)
                byKey[point.key] = series
                collected.append(series)
            }
            current = series
            guard let step = point.step else {
                series.stepless.append(point)
                continue
            }
            if let k = series.index[step] {
                if isNewer(point, than: series.points[k]) { series.points[k] = point }
            } else {
                series.index[step] = series.points.count
                series.points.append(point)
            }
        }
        collected.sort { SeriesLabels.precedes($0.key, $1.key) }
        let labels = SeriesLabels(collected.map(\.key))
        return collected.map { s in
            // Already in step order from the store (the sort is then linear), but not relied on.
            RunSeries(key: s.key, label: labels.label(s.key), points: s.points.sorted { ($0.step ?? .min) < ($1.step ?? .min) },
                      stepless: s.stepless)
        }
    }

    /// The series as the plot draws it, each point linking to its checkpoint's page.
    var plotSeries: PlotSeries {
        PlotSeries(label: label, points: points.map { point in
            let step = point.step ?? 0
            return PlotSeries.Point(
                step: step, log10Volume: point.log10Volume,
                interval: PlotSeries.Point.log10Interval(natsLow: point.intervalLow, natsHigh: point.intervalHigh),
                link: PointLink(href: "/checkpoints/\(point.checkpointID)",
                                data: [("checkpoint", String(point.checkpointID)), ("step", String(step))]))
        }, unplaced: stepless.count)
    }
}
