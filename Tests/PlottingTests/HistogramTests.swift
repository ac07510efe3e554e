import Foundation
import Testing
@testable import Plotting

@Suite struct HistogramTests {
    @Test func countsValuesInRoundBins() {
        let histogram = Histogram([0.1, 0.15, 0.3, 0.35, 0.38, 0.5, 0.9], targetBins: 4)
        #expect(histogram.binWidth == 0.2)
        #expect(histogram.lower == 0)
        #expect(histogram.counts == [2, 3, 1, 0, 1])
        #expect(histogram.binned == 7)
        #expect(histogram.infinite == 0)
    }

    @Test func putsAValueOnAnEdgeInTheBinAboveIt() {
        // 0.6 / 0.2 is 2.9999999999999996 in floating point; it still starts the fourth bin.
        let histogram = Histogram([0, 0.2, 0.4, 0.6, 0.8], targetBins: 5)
        #expect(histogram.binWidth == 0.2)
        #expect(histogram.counts == [1, 1, 1, 1, 1])
    }

    @Test func countsInfiniteValuesApart() {
        let histogram = Histogram([1, 2, .infinity, 3, .infinity, .nan])
        #expect(histogram.infinite == 2)
        #expect(histogram.notANumber == 1)
        #expect(histogram.binned == 3)
        #expect(histogram.upper >= 3 && histogram.lower <= 1)
    }

    @Test func givesEqualValuesOneBin() {
        let histogram = Histogram([-42.5, -42.5, -42.5])
        #expect(histogram.counts == [3])
        #expect(histogram.lower <= -42.5 && histogram.upper > -42.5)
        #expect(histogram.binWidth == 1)
        #expect(Histogram([0, 0]).counts == [2])
    }

    @Test func defaultsToTheSquareRootOfTheCountInBins() {
        let values = (0..<64).map { Double($0) }
        let histogram = Histogram(values)
        // About √64 = 8 bins, 10 wide from 0 to 70: [0, 10) … [60, 70).
        #expect(histogram.binWidth == 10)
        #expect(histogram.counts == [10, 10, 10, 10, 10, 10, 4])
    }

    @Test func holdsNothingWithoutFiniteValues() {
        let histogram = Histogram([.infinity])
        #expect(histogram.counts.isEmpty)
        #expect(histogram.infinite == 1)
    }

    @Test func drawsOneBarPerNonEmptyBinAndNotesInfiniteValues() {
        let histogram = Histogram([0.1, 0.15, 0.3, 0.35, 0.38, 0.5, 0.9, .infinity], targetBins: 4)
        let svg = SVGHistogram(title: "Per-direction radii <8>", valueLabel: "radius").render(histogram)
        let document = SVGDocument(svg)
        #expect(document.parseError == nil)
        #expect(!svg.hasPrefix("<?xml"))
        let bars = document.attributes.filter { $0["x"] != nil && $0["height"] != nil && $0["fill"] == nil }
        #expect(bars.count == 4)
        #expect(document.texts.contains("[0.2, 0.4): 3"))
        #expect(document.texts.contains("[0.8, 1.0): 1"))
        #expect(document.texts.contains("Not binned: 1 infinite value(s) (unbounded directions)."))
        #expect(document.texts.contains("Per-direction radii <8>"))
        #expect(svg.contains("Per-direction radii &lt;8&gt;"))
        #expect(document.coordinates.allSatisfy { Double($0)?.isFinite == true })
        // The tallest bar (3) is three times the shortest (1).
        let heights = bars.compactMap { $0["height"].flatMap(Double.init) }.sorted()
        #expect(abs(heights.last! / heights.first! - 3) < 0.01)
    }

    @Test func saysSoWhenThereIsNothingToBin() {
        let document = SVGDocument(SVGHistogram(title: "t", valueLabel: "v").render(Histogram([.infinity, .infinity])))
        #expect(document.parseError == nil)
        #expect(document.texts.contains("No finite values."))
        #expect(document.texts.contains("Not binned: 2 infinite value(s) (unbounded directions)."))
        #expect(document.coordinates.allSatisfy { Double($0)?.isFinite == true })
    }
}

@Suite struct DecimalTextTests {
    @Test func writesWhatPrintfWrites() {
        var values: [Double] = [0, -0.0, 0.05, 0.25, 0.35, -0.04, -0.05, 1.5, 2.5, 123.456, -3012.449999, 1e15, 9.999, 0.001, -12.95]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 { values.append(Double.random(in: -5000...5000, using: &generator)) }
        for _ in 0..<500 { values.append((Double.random(in: -5000...5000, using: &generator) * 100).rounded() / 100 + 0.005) }
        for value in values {
            for decimals in [0, 1, 2, 3] {
                #expect(DecimalText.fixed(value, decimals) == String(format: "%.\(decimals)f", value), "\(value) to \(decimals)")
            }
        }
        #expect(DecimalText.fixed(-0.04, 1) == "-0.0")
        #expect(DecimalText.fixed(3.14159, 2) == "3.14")
        #expect(DecimalText.fixed(.infinity, 2) == "inf")
    }
}
