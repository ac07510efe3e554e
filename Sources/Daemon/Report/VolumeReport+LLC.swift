import Plotting

/// The report's LLC: a column beside each run's volume (its full-parameter LLC, on the first
/// eval data it has one for), blocks of their own for the other LLC series (parameter subsets,
/// other eval data, runs without a volume shown), and the plot's LLC panel.
extension VolumeReport {
    /// The series shown as a column of the volume tables.
    private var columnSeries: [LLCSeries] {
        var seen = Set<Int64>()
        let shownRuns = Set(series.map(\.runID))
        return llc.filter { $0.parameters.isEmpty && shownRuns.contains($0.runID) && seen.insert($0.runID).inserted }
    }

    var llcColumns: [Int64: [Int64: LLCSeries.Point]] {
        Dictionary(uniqueKeysWithValues: columnSeries.map { s in
            (s.runID, Dictionary(s.points.map { ($0.step, $0) }, uniquingKeysWith: { first, _ in first }))
        })
    }

    var llcTableLines: [String] {
        let columns = columnSeries
        let withEvalData = Set(llc.map(\.evalFingerprint)).count > 1
        var lines: [String] = []
        for s in llc where !columns.contains(s) {
            lines += ["", s.label(withEvalData: withEvalData)]
            var rows = [["step", "LLC"]]
            for point in s.points { rows.append([String(point.step), LLCSeries.cell(point)]) }
            let width = rows.map { $0[0].count }.max() ?? 0
            lines += rows.map { "  " + String(repeating: " ", count: width - $0[0].count) + $0[0] + "  " + $0[1] }
            if !s.checkpointsWithoutStep.isEmpty {
                lines.append("  not shown: \(s.checkpointsWithoutStep.count) checkpoint(s) without a step")
            }
        }
        return lines
    }

    var llcPlot: SVGPlot {
        var plot = SVGPlot(
            title: "LLC vs step",
            subtitle: "local learning coefficient (SGLD) per run",
            summary: "Local learning coefficient of checkpoints against training step, one line per run, eval data and parameter subset.")
        plot.yTitle = "LLC"
        plot.intervalNote = "Bars: ± one standard deviation over chains."
        return plot
    }

    var llcPlotSeries: [PlotSeries] {
        let withEvalData = Set(llc.map(\.evalFingerprint)).count > 1
        return llc.map { $0.plotSeries(withEvalData: withEvalData) }
    }
}
