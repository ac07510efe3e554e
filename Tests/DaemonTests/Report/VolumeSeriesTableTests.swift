import Foundation
import Testing
@testable import Daemon

@Suite struct VolumeSeriesTableTests {
    @Test func listsStepVolumeIntervalAndChangePerSeries() {
        let table = VolumeSeriesTable(series: [
            VolumeSeries(
                run: "run-a", runID: 1, cutoff: 0.01, preconditioner: "none", preconditionerParams: "",
                points: [
                    .init(step: 0, log10Volume: -2664.9, interval: -2670.0 ... -2660.0),
                    .init(step: 100, log10Volume: -3012.45, interval: nil),
                    .init(step: 200, log10Volume: nil, interval: nil),
                    .init(step: 300, log10Volume: -3100, interval: -3105.5 ... -3094.5),
                ],
                checkpointsWithoutStep: [17]
            ),
            VolumeSeries(
                run: "run-b", runID: 2, cutoff: 0.1, preconditioner: "adam", preconditionerParams: "eps=0.001,exponent=0.5",
                points: [.init(step: 10, log10Volume: -5, interval: nil), .init(step: 20, log10Volume: -4.5, interval: nil)]
            ),
        ])
        #expect(table.lines == [
            "run-a  cutoff 0.01  preconditioner none",
            "  step   log10 volume  95% interval           change",
            "     0       -2664.90  [-2670.00, -2660.00]        —",
            "   100       -3012.45  —                     -347.55",
            "   200  ∞ (unbounded)  —                           —",
            "   300       -3100.00  [-3105.50, -3094.50]        —",
            "  not shown: 1 checkpoint(s) without a step (id 17)",
            "",
            "run-b  cutoff 0.1  preconditioner adam:eps=0.001,exponent=0.5",
            "  step  log10 volume  95% interval  change",
            "    10         -5.00  —                  —",
            "    20         -4.50  —              +0.50",
        ])
    }

    @Test func saysSoWhenNoEstimateHasAStep() {
        let table = VolumeSeriesTable(series: [
            VolumeSeries(run: "r", runID: 1, cutoff: 0.01, preconditioner: "none", preconditionerParams: "",
                         points: [], checkpointsWithoutStep: [3, 4]),
        ])
        #expect(table.lines == [
            "r  cutoff 0.01  preconditioner none",
            "  (no estimate with a known step)",
            "  not shown: 2 checkpoint(s) without a step (id 3, 4)",
        ])
    }
}

@Suite struct VolumeReportTests {
    @Test func filtersByPreconditionerNameOrFullParameterSet() throws {
        let byName = try VolumeReport.Filter(preconditioner: "Adam")
        #expect(byName.preconditioner == "adam")
        #expect(byName.preconditionerParams == nil)
        let exact = try VolumeReport.Filter(runs: ["a", "b"], cutoff: 0.01, preconditioner: "adam:eps=1e-2")
        #expect(exact.preconditioner == "adam")
        #expect(exact.preconditionerParams == "eps=0.01,exponent=0.5")
        #expect(exact.description == "runs a, b, cutoff 0.01, preconditioner adam:eps=0.01,exponent=0.5")
        #expect(throws: (any Error).self) { try VolumeReport.Filter(preconditioner: "adam:beta=2") }
    }

    @Test func reportsNoEstimatesWithoutWritingAPlot() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url("plot.svg").path
        let empty = VolumeReport(filter: try VolumeReport.Filter(), series: [])
        #expect(empty.tableLines == ["no estimates yet"])
        #expect(try empty.writePlot(to: path) == false)
        #expect(!FileManager.default.fileExists(atPath: path))
        let filtered = VolumeReport(filter: try VolumeReport.Filter(runs: ["x"], cutoff: 0.1), series: [])
        #expect(filtered.tableLines == ["no estimates yet for run x, cutoff 0.1"])
    }

    @Test func namesThePlotFileItCannotWrite() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url("missing/plot.svg").path
        let report = VolumeReport(filter: try VolumeReport.Filter(), series: [
            VolumeSeries(run: "r", runID: 1, cutoff: 0.01, preconditioner: "none", preconditionerParams: "",
                         points: [.init(step: 1, log10Volume: -3, interval: nil)]),
        ])
        let error = try #require(throws: ReportError.self) { try report.writePlot(to: path) }
        #expect(error.code == "report.plot_not_written")
        #expect(error.description == "cannot write the plot to \(path): No such file or directory")
        #expect(try report.writePlot(to: directory.url("plot.svg").path))
        #expect(SVGDocument(try String(contentsOfFile: directory.url("plot.svg").path, encoding: .utf8)).parseError == nil)
    }
}
