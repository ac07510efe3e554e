import Foundation
import Testing
@testable import Daemon

private func series(
    _ values: [(Int64, Double?)], run: String = "run-a", preconditioner: String = "none", params: String = "",
    cutoff: Double = 0.01, interval: Double? = nil
) -> VolumeSeries {
    VolumeSeries(
        run: run, runID: 1, cutoff: cutoff, preconditioner: preconditioner, preconditionerParams: params,
        points: values.map { step, value in
            VolumeSeries.Point(step: step, log10Volume: value, interval: zip2(value, interval).map { ($0 - $1)...($0 + $1) })
        }
    )
}

private func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
    guard let a, let b else { return nil }
    return (a, b)
}

@Suite struct SVGPlotTests {
    @Test func writesWellFormedSVGWithOneLineAndMarkerPerSeries() throws {
        let svg = SVGPlot().render([
            series([(0, -2664.9), (100, -3012.4), (200, -3863.1)], interval: 15),
            series([(0, -2700), (100, -2900), (200, -3100), (300, -3300)], preconditioner: "adam", params: "eps=0.001,exponent=0.5"),
        ])
        let document = SVGDocument(svg)
        #expect(document.parseError == nil)
        #expect(svg.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\""))
        #expect(document.count("svg") == 1)
        #expect(document.count("polyline") == 2)
        // One marker per point and one per legend entry.
        #expect(document.count("circle") == 7 + 2)
        #expect(document.texts.contains("run-a · none"))
        #expect(document.texts.contains("run-a · adam:eps=0.001,exponent=0.5"))
        #expect(document.texts.contains("log10 volume vs step — cutoff 0.01"))
        #expect(document.texts.contains("step"))
        #expect(document.texts.contains("log10 volume"))
        #expect(document.texts.contains { $0.hasPrefix("Bars: 95% bootstrap interval") })
        // Self-contained: nothing fetched from elsewhere.
        #expect(!svg.contains("<script") && !svg.contains("@font-face") && !svg.contains("href"))
        #expect(document.coordinates.allSatisfy { Double($0)?.isFinite == true })
    }

    @Test func labelsTicksWithRoundNumbers() throws {
        let document = SVGDocument(SVGPlot().render([series([(0, -2664.9), (1000, -3863.1)])]))
        #expect(document.parseError == nil)
        for label in ["−3800", "−3600", "−3400", "−3200", "−3000", "−2800", "0", "200", "400", "600", "800", "1000"] {
            #expect(document.texts.contains(label), "missing tick label \(label)")
        }
    }

    @Test func escapesRunNamesAndDropsControlCharacters() throws {
        let name = #"a<b & "c" 'd'>"#
        let svg = SVGPlot().render([series([(0, -10), (10, -12)], run: name), series([(0, -11)], run: "bell\u{7}")])
        let document = SVGDocument(svg)
        #expect(document.parseError == nil)
        #expect(!svg.contains(name))
        #expect(svg.contains("a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"))
        #expect(document.texts.contains("\(name) · none"))
        #expect(document.texts.contains("bell\u{FFFD} · none"))
    }

    @Test func drawsASinglePointWithoutALine() throws {
        let document = SVGDocument(SVGPlot().render([series([(500, -42.5)])]))
        #expect(document.parseError == nil)
        #expect(document.count("polyline") == 0)
        #expect(document.count("circle") == 2)
        #expect(document.coordinates.allSatisfy { Double($0)?.isFinite == true })
        #expect(document.texts.contains("500"))
    }

    @Test func drawsAFlatSeriesInsideThePlot() throws {
        let plot = SVGPlot()
        let document = SVGDocument(plot.render([series([(0, -7.25), (100, -7.25), (200, -7.25)])]))
        #expect(document.parseError == nil)
        #expect(document.count("polyline") == 1)
        #expect(document.coordinates.allSatisfy { Double($0)?.isFinite == true })
        let polyline = try #require(document.attributes.first { $0["points"] != nil }?["points"])
        let ys = polyline.split(separator: " ").compactMap { $0.split(separator: ",").last.flatMap { Double($0) } }
        #expect(ys.count == 3)
        #expect(Set(ys).count == 1)
        // Between the plot's top (64) and bottom (64 + 360).
        #expect(ys.allSatisfy { $0 > 64 && $0 < 424 })
    }

    @Test func breaksTheLineAtAnInfiniteVolumeAndMarksIt() throws {
        let document = SVGDocument(SVGPlot().render([series([(0, -5), (1, -6), (2, nil), (3, -7), (4, -8)])]))
        #expect(document.parseError == nil)
        #expect(document.count("polyline") == 2)
        #expect(document.count("circle") == 4 + 1)
        #expect(document.count("path") == 1)
        #expect(document.texts.contains("▲ at the top edge: infinite volume (unbounded directions)."))
    }

    @Test func leavesTheValueAxisUnlabelledWhenEveryVolumeIsInfinite() throws {
        let document = SVGDocument(SVGPlot().render([series([(0, nil), (100, nil)])]))
        #expect(document.parseError == nil)
        #expect(document.count("polyline") == 0)
        #expect(document.count("path") == 2)
        #expect(document.count("circle") == 1)
        let labels = document.texts.filter { Double($0.replacingOccurrences(of: "−", with: "-")) != nil }
        #expect(labels == ["0", "20", "40", "60", "80", "100"])
    }

    @Test func namesEveryCutoffAndLabelsSeriesByCutoffWhenThereAreSeveral() throws {
        let document = SVGDocument(SVGPlot().render([
            series([(0, -5), (1, -6)], cutoff: 0.01),
            series([(0, -3), (1, -4)], cutoff: 0.1),
        ]))
        #expect(document.texts.contains("log10 volume vs step — cutoffs 0.01, 0.1"))
        #expect(document.texts.contains("run-a · none · cutoff 0.01"))
        #expect(document.texts.contains("run-a · none · cutoff 0.1"))
    }

    @Test func givesSeriesDistinctColoursThenDashes() throws {
        let many = (0..<9).map { series([(0, -Double($0)), (1, -Double($0) - 1)], run: "run-\($0)") }
        let document = SVGDocument(SVGPlot().render(many))
        #expect(document.parseError == nil)
        let strokes = document.attributes.filter { $0["fill"] == "none" && $0["stroke-width"] == "2" && $0["stroke"] != nil }
        #expect(strokes.count == 9)
        #expect(Set(strokes.prefix(7).compactMap { $0["stroke"] }).count == 7)
        #expect(strokes[7]["stroke"] == strokes[0]["stroke"])
        #expect(strokes[0]["stroke-dasharray"] == nil)
        #expect(strokes[7]["stroke-dasharray"] == "8 4")
    }

    @Test func cutsLongLegendLabels() {
        let label = SVGPlot().legendLabel(series([(0, -1)], run: String(repeating: "x", count: 80)), withCutoff: false)
        #expect(label.count == SVGPlot.maximumLabelLength)
        #expect(label.hasSuffix("…"))
    }
}

@Suite struct AxisScaleTests {
    @Test func picksStepsOfTwoHundredForAVolumeRange() {
        let axis = AxisScale(covering: [-3863.1, -2664.9])
        #expect(axis.tickStep == 200)
        #expect(axis.ticks == [-3800, -3600, -3400, -3200, -3000, -2800])
        #expect(axis.lower < -3863.1 && axis.upper > -2664.9)
        #expect(axis.label(-3800) == "−3800")
    }

    @Test func prefersMoreTicksToTooFew() {
        // 500 would leave three ticks; 200 gives nine.
        let axis = AxisScale(covering: [-4149.2, -2664.9])
        #expect(axis.tickStep == 200)
        #expect(axis.ticks.first == -4200 && axis.ticks.last == -2600)
    }

    @Test func picksDecimalStepsForANarrowRange() {
        let axis = AxisScale(covering: [-12.34, -11.02])
        #expect(abs(axis.tickStep - 0.2) < 1e-12)
        #expect(axis.ticks.count == 8)
        #expect(abs(axis.ticks[0] + 12.4) < 1e-9)
        #expect(abs(axis.ticks[7] + 11.0) < 1e-9)
        #expect(axis.ticks.map(axis.label) == ["−12.4", "−12.2", "−12.0", "−11.8", "−11.6", "−11.4", "−11.2", "−11.0"])
    }

    @Test func keepsTrainingStepTicksOnWholeNumbers() {
        #expect(AxisScale(covering: [0, 1000], integral: true).ticks == [0, 200, 400, 600, 800, 1000])
        let three = AxisScale(covering: [1, 2, 3], integral: true)
        #expect(three.ticks == [1, 2, 3])
        #expect(three.ticks.map(three.label) == ["1", "2", "3"])
    }

    @Test func widensASingleValue() {
        let step = AxisScale(covering: [500], integral: true)
        #expect(step.lower < 500 && step.upper > 500)
        #expect(step.ticks.contains(500))
        #expect(step.ticks.allSatisfy { $0 == $0.rounded() })
        let zero = AxisScale(covering: [0])
        #expect(zero.lower == -1 && zero.upper == 1)
        #expect(zero.ticks.map(zero.label) == ["−1.0", "−0.5", "0.0", "0.5", "1.0"])
    }

    @Test func widensAFlatRange() {
        let axis = AxisScale(covering: [-2664.9, -2664.9, -2664.9])
        #expect(axis.lower < -2664.9 && axis.upper > -2664.9)
        #expect(axis.ticks.count >= 3)
        #expect(axis.ticks.allSatisfy { $0 >= axis.lower && $0 <= axis.upper })
    }

    @Test func labelsZeroWithoutASign() {
        let axis = AxisScale(covering: [-1, 1])
        #expect(axis.ticks.contains(0))
        #expect(axis.label(0) == "0.0")
        #expect(axis.label(-0.0) == "0.0")
    }

    @Test func survivesNoValues() {
        let axis = AxisScale(covering: [])
        #expect(axis.lower < axis.upper)
        #expect(!axis.ticks.isEmpty)
    }
}
