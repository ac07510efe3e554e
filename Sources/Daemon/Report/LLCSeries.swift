import DB
import Plotting

/// The LLC against training step for one run, eval data and parameter subset: a line of the
/// report's LLC panel, and the LLC column of the run's volume table (full-parameter series).
struct LLCSeries: Sendable, Equatable {
    struct Point: Sendable, Equatable {
        var step: Int64
        /// Mean over the chains that did not diverge; NaN when all did.
        var mean: Double
        var standardDeviation: Double
        var chains: Int
        var divergedChains: Int
    }

    var run: String
    var runID: Int64
    var evalFingerprint: String
    /// Sorted glob patterns joined by single spaces; "" = every weight.
    var parameters: String
    /// In step order.
    var points: [Point]
    var checkpointsWithoutStep: [Int64] = []

    /// "run · LLC", with the subset and, when the report shows several eval sets, the eval data.
    func label(withEvalData: Bool) -> String {
        var label = "\(run) · LLC"
        if !parameters.isEmpty { label += " [\(parameters)]" }
        if withEvalData { label += " · eval \(evalFingerprint.prefix(8))" }
        return label
    }

    /// The points as the plot draws them: the mean with ± one standard deviation over chains as
    /// its bar; steps where every chain diverged are left out.
    func plotSeries(withEvalData: Bool) -> PlotSeries {
        PlotSeries(label: label(withEvalData: withEvalData),
                   points: points.filter(\.mean.isFinite).map { p in
                       PlotSeries.Point(step: p.step, log10Volume: p.mean,
                                        interval: p.standardDeviation.isFinite && p.standardDeviation > 0
                                            ? (p.mean - p.standardDeviation)...(p.mean + p.standardDeviation) : nil)
                   },
                   unplaced: checkpointsWithoutStep.count)
    }

    /// The LLC cell of a table: "12.3 ± 0.4", with the diverged chains when some did.
    static func cell(_ point: Point) -> String {
        var text = point.mean.isFinite ? "\(format(point.mean, 2)) ± \(format(point.standardDeviation, 2))" : "diverged"
        if point.divergedChains > 0, point.mean.isFinite { text += " (\(point.divergedChains)/\(point.chains) diverged)" }
        return text
    }
}

extension LLCSeries {
    /// Groups rows of the `llc_by_step` view into series, in the order their first rows come.
    static func grouping(_ rows: [LLCPoint]) -> [LLCSeries] {
        struct Key: Hashable { var runID: Int64, eval: String, parameters: String }
        var series: [LLCSeries] = []
        var index: [Key: Int] = [:]
        for row in rows {
            let key = Key(runID: row.runID, eval: row.evalFingerprint, parameters: row.parameters)
            let i: Int
            if let existing = index[key] {
                i = existing
            } else {
                i = series.count
                index[key] = i
                series.append(LLCSeries(run: row.run, runID: row.runID, evalFingerprint: row.evalFingerprint,
                                        parameters: row.parameters, points: []))
            }
            guard let step = row.step else {
                series[i].checkpointsWithoutStep.append(row.checkpointID)
                continue
            }
            series[i].points.append(Point(step: step, mean: row.mean, standardDeviation: row.standardDeviation,
                                          chains: row.chains, divergedChains: row.divergedChains))
        }
        for i in series.indices { series[i].points.sort { $0.step < $1.step } }
        return series
    }
}
