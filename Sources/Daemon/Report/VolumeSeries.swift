import DB
import Plotting

/// log10 volume against training step for one run, cutoff and preconditioner (with its
/// parameters): one block of `volumed report`'s table and one line of its plot.
struct VolumeSeries: Sendable, Equatable {
    struct Point: Sendable, Equatable {
        var step: Int64
        /// nil for an infinite volume (uniform measure with unbounded directions).
        var log10Volume: Double?
        /// 95% bootstrap interval, in log10.
        var interval: ClosedRange<Double>?
    }

    var run: String
    var runID: Int64
    var cutoff: Double
    var preconditioner: String
    /// Canonical `key=value,…`; "" when the preconditioner has none.
    var preconditionerParams: String
    /// The neighbourhood and parameter subset when not the full KL (`loss`, `params: 0.*`): a
    /// series of its own, never merged with the full KL one.
    var subset: String? = nil
    /// In step order.
    var points: [Point]
    /// Checkpoints estimated without a known step (a file name with no number): they cannot
    /// be placed on the step axis, so they are only counted.
    var checkpointsWithoutStep: [Int64] = []

    /// The preconditioner as users write it (`adam:eps=0.001,exponent=0.5`).
    var preconditionerName: String {
        preconditionerParams.isEmpty ? preconditioner : "\(preconditioner):\(preconditionerParams)"
    }

    /// The preconditioner, with the series' neighbourhood and subset when it has them.
    var seriesName: String { subset.map { "\(preconditionerName) (\($0))" } ?? preconditionerName }

    /// The legend's "run · preconditioner", with the cutoff when the plot shows several.
    func label(withCutoff: Bool) -> String {
        withCutoff ? "\(run) · \(seriesName) · cutoff \(cutoff)" : "\(run) · \(seriesName)"
    }

    /// The series as the plot draws it (without links: the report's SVG is a file).
    func plotSeries(withCutoff: Bool) -> PlotSeries {
        PlotSeries(label: label(withCutoff: withCutoff),
                   points: points.map { PlotSeries.Point(step: $0.step, log10Volume: $0.log10Volume, interval: $0.interval) },
                   unplaced: checkpointsWithoutStep.count)
    }
}

extension VolumeSeries {
    /// Groups rows of the `volume_by_step` view into series, in the order their first rows
    /// come (the store orders by run, preconditioner, cutoff), each series by step.
    static func grouping(_ rows: [VolumePoint]) -> [VolumeSeries] {
        struct Key: Hashable {
            var runID: Int64, cutoff: Double, preconditioner: String, params: String, subset: String?
        }
        var series: [VolumeSeries] = []
        var index: [Key: Int] = [:]
        for row in rows {
            let key = Key(runID: row.runID, cutoff: row.cutoff, preconditioner: row.preconditioner, params: row.preconditionerParams,
                          subset: row.seriesLabel)
            let i: Int
            if let existing = index[key] {
                i = existing
            } else {
                i = series.count
                index[key] = i
                series.append(VolumeSeries(run: row.run, runID: row.runID, cutoff: row.cutoff, preconditioner: row.preconditioner,
                                           preconditionerParams: row.preconditionerParams, subset: row.seriesLabel, points: []))
            }
            guard let step = row.step else {
                series[i].checkpointsWithoutStep.append(row.checkpointID)
                continue
            }
            series[i].points.append(Point(step: step, log10Volume: row.log10Volume,
                                          interval: PlotSeries.Point.log10Interval(natsLow: row.intervalLow, natsHigh: row.intervalHigh)))
        }
        for i in series.indices { series[i].points.sort { $0.step < $1.step } }
        return series
    }
}
