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

        var placed: [EstimateKey: [Int64: SeriesPoint]] = [:]
        var stepless: [EstimateKey: [SeriesPoint]] = [:]
        for point in detail.points {
            guard let step = point.step else {
                stepless[point.key, default: []].append(point)
                continue
            }
            if let existing = placed[point.key]?[step], isNewer(existing, than: point) { continue }
            placed[point.key, default: [:]][step] = point
        }
        let keys = Set(placed.keys).union(stepless.keys).sorted(by: SeriesLabels.precedes)
        let labels = SeriesLabels(keys)
        return keys.map { key in
            RunSeries(key: key, label: labels.label(key),
                      points: (placed[key]?.values).map { $0.sorted { ($0.step ?? .min) < ($1.step ?? .min) } } ?? [],
                      stepless: stepless[key] ?? [])
        }
    }

    /// The series as the plot draws it, each point linking to its checkpoint's page.
    var plotSeries: PlotSeries {
        PlotSeries(label: label, points: points.map { point in
            let step = point.step ?? 0
            return PlotSeries.Point(
                step: step, log10Volume: point.log10Volume,
                interval: PageFormat.log10Interval(low: point.intervalLow, high: point.intervalHigh),
                link: PointLink(href: "/checkpoints/\(point.checkpointID)",
                                data: [("checkpoint", String(point.checkpointID)), ("step", String(step))]))
        }, unplaced: stepless.count)
    }
}
