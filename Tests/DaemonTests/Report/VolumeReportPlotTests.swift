import Foundation
import Testing
@testable import Daemon

/// `volumed report --svg`: its series go through the shared plot (Plotting) labelled as before.
@Suite struct VolumeReportPlotTests {
    private func series(_ run: String, cutoff: Double = 0.01, preconditioner: String = "none", params: String = "",
                        stepless: [Int64] = []) -> VolumeSeries {
        VolumeSeries(run: run, runID: 1, cutoff: cutoff, preconditioner: preconditioner, preconditionerParams: params,
                     points: [.init(step: 0, log10Volume: -5, interval: -6 ... -4), .init(step: 10, log10Volume: -6, interval: nil)],
                     checkpointsWithoutStep: stepless)
    }

    @Test func labelsSeriesByRunAndPreconditionerAndNamesTheCutoff() throws {
        let report = VolumeReport(filter: try VolumeReport.Filter(), series: [
            series("run-a"), series("run-a", preconditioner: "adam", params: "eps=0.001,exponent=0.5", stepless: [4, 5]),
        ])
        let svg = try #require(report.svg)
        #expect(svg.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg "))
        let document = SVGDocument(svg)
        #expect(document.parseError == nil)
        #expect(document.texts.contains("log10 volume vs step — cutoff 0.01"))
        #expect(document.texts.contains("KL local volume per run and preconditioner"))
        #expect(document.texts.contains("KL local volume (log10) of checkpoints against training step, one line per run and preconditioner."))
        #expect(document.texts.contains("run-a · none"))
        #expect(document.texts.contains("run-a · adam:eps=0.001,exponent=0.5"))
        #expect(document.texts.contains("Not shown: 2 estimate(s) of checkpoints without a step."))
        #expect(document.texts.contains("step"))
        // A file: no links.
        #expect(!svg.contains("href") && document.count("a") == 0)
    }

    @Test func namesEveryCutoffAndLabelsSeriesByCutoffWhenThereAreSeveral() throws {
        let report = VolumeReport(filter: try VolumeReport.Filter(), series: [series("run-a", cutoff: 0.01), series("run-a", cutoff: 0.1)])
        let document = SVGDocument(try #require(report.svg))
        #expect(document.texts.contains("log10 volume vs step — cutoffs 0.01, 0.1"))
        #expect(document.texts.contains("run-a · none · cutoff 0.01"))
        #expect(document.texts.contains("run-a · none · cutoff 0.1"))
    }

    @Test func cutsLongRunNamesInTheLegend() throws {
        let report = VolumeReport(filter: try VolumeReport.Filter(), series: [series(String(repeating: "x", count: 80))])
        let document = SVGDocument(try #require(report.svg))
        #expect(document.texts.contains(String(repeating: "x", count: 47) + "…"))
        #expect(series("r", cutoff: 0.1).label(withCutoff: true) == "r · none · cutoff 0.1")
    }
}
