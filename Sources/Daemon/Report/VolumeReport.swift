import DB
import Estimator
import Foundation
import Plotting

/// What `volumed report` shows: the volume-vs-step series that match its filters, as a
/// table and as an SVG plot.
struct VolumeReport: Sendable {
    /// Which estimates to show; every field empty shows them all.
    struct Filter: Sendable, Equatable, CustomStringConvertible {
        var runs: [String] = []
        var cutoff: Double?
        var preconditioner: String?
        /// Set when the preconditioner was given with parameters (`adam:eps=0.01`): only that
        /// parameter set, in canonical form. A bare name matches every parameter set.
        var preconditionerParams: String?

        /// `preconditioner` as users type it: a name, or `name:key=value,…`.
        init(runs: [String] = [], cutoff: Double? = nil, preconditioner: String? = nil) throws(PreconditionerSpecError) {
            self.runs = runs
            self.cutoff = cutoff
            guard let preconditioner else { return }
            if preconditioner.contains(":") {
                let spec = try PreconditionerSpec(parsing: preconditioner)
                self.preconditioner = spec.name
                preconditionerParams = spec.parameterText
            } else {
                self.preconditioner = preconditioner.trimmingCharacters(in: .whitespaces).lowercased()
            }
        }

        var isEmpty: Bool { runs.isEmpty && cutoff == nil && preconditioner == nil }

        var description: String {
            var parts: [String] = []
            if !runs.isEmpty { parts.append((runs.count == 1 ? "run " : "runs ") + runs.joined(separator: ", ")) }
            if let cutoff { parts.append("cutoff \(cutoff)") }
            if let preconditioner {
                parts.append("preconditioner " + (preconditionerParams.map { $0.isEmpty ? preconditioner : "\(preconditioner):\($0)" } ?? preconditioner))
            }
            return parts.joined(separator: ", ")
        }
    }

    let filter: Filter
    let series: [VolumeSeries]
    /// LLC against step per run, eval data and parameter subset (the filter's runs; cutoffs
    /// and preconditioners do not apply).
    var llc: [LLCSeries] = []

    static func load(from store: ResultStore, filter: Filter) async throws -> VolumeReport {
        let llc = try await LLCStore(connection: store.connection).series(runs: filter.runs.isEmpty ? nil : filter.runs)
        let rows = try await store.volumeSeries(runs: filter.runs.isEmpty ? nil : filter.runs,
                                                cutoff: filter.cutoff, preconditioner: filter.preconditioner)
        let matching = filter.preconditionerParams.map { params in rows.filter { $0.preconditionerParams == params } } ?? rows
        return VolumeReport(filter: filter, series: VolumeSeries.grouping(matching), llc: LLCSeries.grouping(llc))
    }

    /// Runs asked for by name with no estimate under the filters: a typo, or nothing computed yet.
    var runsWithoutEstimates: [String] {
        var seen = Set<String>()
        return filter.runs.filter { run in seen.insert(run).inserted && !series.contains { $0.run == run } }
    }

    var tableLines: [String] {
        guard !series.isEmpty else { return [filter.isEmpty ? "no estimates yet" : "no estimates yet for \(filter)"] }
        var lines = VolumeSeriesTable(series: series, llc: llcColumns).lines
        lines += llcTableLines
        let missing = runsWithoutEstimates
        if !missing.isEmpty { lines += ["", "no estimates for \(missing.count == 1 ? "run" : "runs") \(missing.joined(separator: ", "))"] }
        return lines
    }

    /// nil when there is nothing to draw. Series are labelled by run and preconditioner, and
    /// by cutoff too when the plot shows several. With LLC estimates, the LLC against step is a
    /// panel under the volume.
    var svg: String? {
        guard !series.isEmpty else { return nil }
        let cutoffs = Set(series.map(\.cutoff)).sorted()
        let cutoffText = (cutoffs.count == 1 ? "cutoff " : "cutoffs ") + cutoffs.map { "\($0)" }.joined(separator: ", ")
        let plot = SVGPlot(
            title: "log10 volume vs step — \(cutoffText)",
            subtitle: "KL local volume per run and preconditioner",
            summary: "KL local volume (log10) of checkpoints against training step, one line per run and preconditioner.")
        let volume = series.map { $0.plotSeries(withCutoff: cutoffs.count > 1) }
        guard !llc.isEmpty else { return plot.render(volume) }
        return SVGPanels.stacked([(plot, volume), (llcPlot, llcPlotSeries)], title: "\(plot.title), and the LLC")
    }

    /// Writes the plot to `path`, replacing the file atomically; returns false, writing
    /// nothing, when there is no data.
    func writePlot(to path: String) throws(ReportError) -> Bool {
        guard let svg else { return false }
        do {
            try Data(svg.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .plotNotWritten(path: path, error)
        }
        return true
    }
}
