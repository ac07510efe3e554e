import Foundation
import Testing
@testable import Daemon

/// `volumed report` with LLC estimates: an LLC column beside the run's volume, subset LLCs in
/// blocks of their own, and an LLC panel under the volume plot.
@Suite struct LLCReportTests {
    private let volume = VolumeSeries(run: "run-a", runID: 1, cutoff: 0.01, preconditioner: "none", preconditionerParams: "",
                                      points: [.init(step: 0, log10Volume: -5, interval: nil), .init(step: 10, log10Volume: -6, interval: nil)])

    private func llc(parameters: String = "", means: [Double]) -> LLCSeries {
        LLCSeries(run: "run-a", runID: 1, evalFingerprint: "4bbcae26", parameters: parameters,
                  points: means.enumerated().map { i, mean in
                      .init(step: Int64(10 * i), mean: mean, standardDeviation: 0.5, chains: 4, divergedChains: mean.isNaN ? 4 : 0)
                  })
    }

    @Test func theTableShowsTheRunsLLCBesideItsVolumeAndSubsetsApart() throws {
        let report = VolumeReport(filter: try VolumeReport.Filter(), series: [volume],
                                  llc: [llc(means: [12.25, .nan]), llc(parameters: "2.*", means: [3])])
        let lines = report.tableLines
        #expect(lines.contains { $0.contains("LLC") && $0.contains("log10 volume") }, "\(lines)")
        #expect(lines.contains { $0.hasSuffix("12.25 ± 0.50") }, "\(lines)")
        #expect(lines.contains { $0.hasSuffix("diverged") }, "\(lines)")
        #expect(lines.contains("run-a · LLC [2.*]"), "\(lines)")
        #expect(lines.contains { $0.hasSuffix("3.00 ± 0.50") }, "\(lines)")
    }

    @Test func withoutLLCTheTableIsAsBefore() throws {
        let report = VolumeReport(filter: try VolumeReport.Filter(), series: [volume])
        #expect(report.tableLines.allSatisfy { !$0.contains("LLC") })
    }

    @Test func thePlotHasAnLLCPanelUnderTheVolume() throws {
        let report = VolumeReport(filter: try VolumeReport.Filter(), series: [volume], llc: [llc(means: [12, 14])])
        let svg = try #require(report.svg)
        #expect(svg.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<svg "))
        let document = SVGDocument(svg)
        #expect(document.parseError == nil)
        #expect(document.texts.contains("log10 volume vs step — cutoff 0.01"))
        #expect(document.texts.contains("LLC vs step"))
        #expect(document.texts.contains("run-a · LLC"))
        #expect(document.texts.contains("Bars: ± one standard deviation over chains."))
        // The LLC panel lies below the volume panel.
        let volumeTitle = try #require(svg.range(of: "log10 volume vs step"))
        let llcTitle = try #require(svg.range(of: ">LLC vs step<"))
        #expect(volumeTitle.lowerBound < llcTitle.lowerBound)
        #expect(svg.contains("<g transform=\"translate(0 "))
    }
}
