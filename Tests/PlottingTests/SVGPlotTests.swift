import Foundation
import Testing
@testable import Plotting

private func series(
    _ values: [(Int64, Double?)], label: String = "run-a · none", interval: Double? = nil, unplaced: Int = 0
) -> PlotSeries {
    PlotSeries(
        label: label,
        points: values.map { step, value in
            PlotSeries.Point(step: step, log10Volume: value, interval: zip2(value, interval).map { ($0 - $1)...($0 + $1) })
        },
        unplaced: unplaced
    )
}

private func zip2(_ a: Double?, _ b: Double?) -> (Double, Double)? {
    guard let a, let b else { return nil }
    return (a, b)
}

private let plot = SVGPlot(title: "log10 volume vs step — cutoff 0.01", subtitle: "KL local volume per run and preconditioner")

@Suite struct SVGPlotTests {
    @Test func writesWellFormedSVGWithOneLineAndMarkerPerSeries() throws {
        let svg = plot.render([
            series([(0, -2664.9), (100, -3012.4), (200, -3863.1)], interval: 15),
            series([(0, -2700), (100, -2900), (200, -3100), (300, -3300)], label: "run-a · adam:eps=0.001,exponent=0.5"),
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
        let document = SVGDocument(plot.render([series([(0, -2664.9), (1000, -3863.1)])]))
        #expect(document.parseError == nil)
        for label in ["−3800", "−3600", "−3400", "−3200", "−3000", "−2800", "0", "200", "400", "600", "800", "1000"] {
            #expect(document.texts.contains(label), "missing tick label \(label)")
        }
    }

    @Test func escapesLabelsAndDropsControlCharacters() throws {
        let name = #"a<b & "c" 'd'>"#
        let svg = plot.render([series([(0, -10), (10, -12)], label: "\(name) · none"), series([(0, -11)], label: "bell\u{7} · none")])
        let document = SVGDocument(svg)
        #expect(document.parseError == nil)
        #expect(!svg.contains(name))
        #expect(svg.contains("a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"))
        #expect(document.texts.contains("\(name) · none"))
        #expect(document.texts.contains("bell\u{FFFD} · none"))
    }

    @Test func drawsASinglePointWithoutALine() throws {
        let document = SVGDocument(plot.render([series([(500, -42.5)])]))
        #expect(document.parseError == nil)
        #expect(document.count("polyline") == 0)
        #expect(document.count("circle") == 2)
        #expect(document.coordinates.allSatisfy { Double($0)?.isFinite == true })
        #expect(document.texts.contains("500"))
    }

    @Test func drawsAFlatSeriesInsideThePlot() throws {
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
        let document = SVGDocument(plot.render([series([(0, -5), (1, -6), (2, nil), (3, -7), (4, -8)])]))
        #expect(document.parseError == nil)
        #expect(document.count("polyline") == 2)
        #expect(document.count("circle") == 4 + 1)
        #expect(document.count("path") == 1)
        #expect(document.texts.contains("▲ at the top edge: infinite volume (unbounded directions)."))
    }

    @Test func leavesTheValueAxisUnlabelledWhenEveryVolumeIsInfinite() throws {
        let document = SVGDocument(plot.render([series([(0, nil), (100, nil)])]))
        #expect(document.parseError == nil)
        #expect(document.count("polyline") == 0)
        #expect(document.count("path") == 2)
        #expect(document.count("circle") == 1)
        let labels = document.texts.filter { Double($0.replacingOccurrences(of: "−", with: "-")) != nil }
        #expect(labels == ["0", "20", "40", "60", "80", "100"])
    }

    @Test func givesSeriesDistinctColoursThenDashes() throws {
        let many = (0..<9).map { series([(0, -Double($0)), (1, -Double($0) - 1)], label: "run-\($0)") }
        let document = SVGDocument(plot.render(many))
        #expect(document.parseError == nil)
        let strokes = document.attributes.filter { $0["fill"] == "none" && $0["stroke-width"] == "2" && $0["stroke"] != nil }
        #expect(strokes.count == 9)
        #expect(Set(strokes.prefix(7).compactMap { $0["stroke"] }).count == 7)
        #expect(strokes[7]["stroke"] == strokes[0]["stroke"])
        #expect(strokes[0]["stroke-dasharray"] == nil)
        #expect(strokes[7]["stroke-dasharray"] == "8 4")
    }

    @Test func cutsLongLegendLabels() {
        let label = plot.legendLabel(String(repeating: "x", count: 80))
        #expect(label.count == plot.maximumLabelLength)
        #expect(label.hasSuffix("…"))
        #expect(plot.legendLabel("short") == "short")
        let document = SVGDocument(plot.render([series([(0, -1)], label: String(repeating: "x", count: 80))]))
        #expect(document.texts.contains(String(repeating: "x", count: 47) + "…"))
    }

    @Test func wrapsEachMarkerInItsLinkWithDataAttributes() throws {
        let linked = PlotSeries(label: "none · cutoff 0.01", points: [
            PlotSeries.Point(step: 100, log10Volume: -3012.4, link: PointLink(href: "/checkpoints/7", data: [("checkpoint", "7"), ("step", "100")])),
            PlotSeries.Point(step: 200, log10Volume: nil, link: PointLink(href: "/checkpoints/8?a=1&b=<2>", data: [("checkpoint", "8"), ("step", "200")])),
            PlotSeries.Point(step: 300, log10Volume: -3100),
        ])
        var inline = plot
        inline.xmlDeclaration = false
        let svg = inline.render([linked])
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        let document = SVGDocument(svg)
        #expect(document.parseError == nil)
        #expect(document.count("a") == 2)
        let links = document.attributes.filter { $0["href"] != nil }
        #expect(links == [
            ["href": "/checkpoints/7", "data-checkpoint": "7", "data-step": "100"],
            ["href": "/checkpoints/8?a=1&b=<2>", "data-checkpoint": "8", "data-step": "200"],
        ])
        #expect(svg.contains(#"<a href="/checkpoints/7" data-checkpoint="7" data-step="100"><title>step 100: -3012.40</title><circle "#))
        #expect(svg.contains(#"<a href="/checkpoints/8?a=1&amp;b=&lt;2&gt;" data-checkpoint="8" data-step="200"><title>step 200: ∞</title><path "#))
        // The unlinked point keeps a bare marker: 3 point markers and 1 legend marker in all.
        #expect(document.count("circle") == 2 + 1)
    }

    @Test func countsEstimatesWithoutAStepInANote() {
        let document = SVGDocument(plot.render([series([(0, -1), (10, -2)], unplaced: 2), series([(0, -3)], label: "b", unplaced: 1)]))
        #expect(document.texts.contains("Not shown: 3 estimate(s) of checkpoints without a step."))
    }

    @Test func leavesOutTheSubtitleWhenThereIsNone() {
        let bare = SVGPlot(title: "t")
        let document = SVGDocument(bare.render([series([(0, -1), (10, -2)])]))
        #expect(document.parseError == nil)
        #expect(document.count("text") == SVGDocument(plot.render([series([(0, -1), (10, -2)])])).count("text") - 1)
        #expect(document.texts.contains("KL local volume (log10) against training step."))
    }

    @Test func spacesStepsLogarithmicallyAndSaysWhichItLeftOut() throws {
        var logPlot = plot
        logPlot.stepScale = .logarithmic
        let svg = logPlot.render([series([(0, -1), (1, -2), (10, -3), (100, -4), (1000, -5)]), series([(-5, -2), (10, -2.5)], label: "b")])
        let document = SVGDocument(svg)
        #expect(document.parseError == nil)
        #expect(document.texts.contains("step (log scale)"))
        #expect(document.texts.contains("Not shown on the log step axis: 2 point(s) at step 0 or below."))
        for label in ["1", "10", "100", "1000"] { #expect(document.texts.contains(label), "missing tick label \(label)") }
        // 4 + 1 point markers, 2 legend markers; decades equally spaced.
        #expect(document.count("circle") == 5 + 2)
        let polyline = try #require(document.attributes.first { $0["points"] != nil }?["points"])
        let xs = polyline.split(separator: " ").compactMap { $0.split(separator: ",").first.flatMap { Double($0) } }
        #expect(xs.count == 4)
        #expect(abs((xs[1] - xs[0]) - (xs[2] - xs[1])) < 0.2)
        #expect(abs((xs[2] - xs[1]) - (xs[3] - xs[2])) < 0.2)
        #expect(document.coordinates.allSatisfy { Double($0)?.isFinite == true })
        // The linear axis keeps step 0 and says nothing of it.
        let linear = SVGDocument(plot.render([series([(0, -1), (1, -2)])]))
        #expect(!linear.texts.contains { $0.hasPrefix("Not shown on the log step axis") })
        #expect(linear.texts.contains("step"))
    }

    @Test func drawsAnEmptyLogAxisWhenNoStepIsPositive() {
        var logPlot = plot
        logPlot.stepScale = .logarithmic
        let document = SVGDocument(logPlot.render([series([(0, -1)])]))
        #expect(document.parseError == nil)
        #expect(document.count("circle") == 1)
        #expect(document.texts.contains("Not shown on the log step axis: 1 point(s) at step 0 or below."))
        #expect(document.coordinates.allSatisfy { Double($0)?.isFinite == true })
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

    @Test func putsLogarithmicTicksOnPowersOfTen() {
        let axis = AxisScale(logarithmicCovering: [1, 50, 20_000], integral: true)
        #expect(axis.isLogarithmic)
        #expect(axis.ticks == [1, 10, 100, 1000, 10_000])
        #expect(axis.ticks.map(axis.label) == ["1", "10", "100", "1000", "10000"])
        #expect(axis.lower < 1 && axis.upper > 20_000)
        #expect(abs(axis.position(axis.lower, from: 0, to: 100)) < 1e-9)
        #expect(abs(axis.position(100, from: 0, to: 100) - axis.position(10, from: 0, to: 100) - (axis.position(10, from: 0, to: 100) - axis.position(1, from: 0, to: 100))) < 1e-9)
    }

    @Test func addsTwoAndFiveOnAShortLogarithmicRange() {
        let axis = AxisScale(logarithmicCovering: [10, 300], integral: true)
        #expect(axis.ticks == [10, 20, 50, 100, 200])
    }

    @Test func fallsBackToRoundLinearTicksWithinADecade() {
        let axis = AxisScale(logarithmicCovering: [500, 600], integral: true)
        #expect(axis.ticks.count >= 2)
        #expect(axis.ticks.allSatisfy { $0 >= axis.lower && $0 <= axis.upper && $0 == $0.rounded() })
        let one = AxisScale(logarithmicCovering: [7], integral: true)
        #expect(one.lower < 7 && one.upper > 7)
        #expect(one.ticks.contains(7))
    }

    @Test func ignoresValuesALogarithmicAxisCannotHold() {
        let axis = AxisScale(logarithmicCovering: [0, -3, 10, 1000])
        #expect(axis.lower > 0 && axis.lower < 10)
        #expect(axis.ticks == [10, 20, 50, 100, 200, 500, 1000])
    }
}
