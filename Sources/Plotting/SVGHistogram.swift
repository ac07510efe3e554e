/// Draws a `Histogram` as a self-contained SVG element in the plots' style: bars in one of
/// the palette's colours, a count axis, the values' axis with round ticks, and notes counting
/// what was not binned (infinite values: unbounded directions).
public struct SVGHistogram: Sendable {
    public var title: String
    /// What the values are (the x axis' title).
    public var valueLabel: String
    /// Index into `SVGPlot.palette`.
    public var colourIndex = 0
    public var plotWidth = 380.0
    public var plotHeight = 160.0

    private let top = 40.0
    private let left = 52.0
    private let bottomMargin = 52.0
    private let noteHeight = 15.0

    public init(title: String, valueLabel: String) {
        self.title = title
        self.valueLabel = valueLabel
    }

    /// An `<svg>` element (no XML declaration: it is drawn inside HTML).
    public func render(_ histogram: Histogram) -> String {
        let bottom = top + plotHeight
        let right = left + plotWidth
        let x = AxisScale(from: histogram.lower, to: histogram.counts.isEmpty ? histogram.lower + 1 : histogram.upper, targetTicks: 5)
        let largest = histogram.counts.max() ?? 0
        let y = AxisScale(from: 0, to: Double(max(largest, 1)) * 1.1, targetTicks: 4, integral: true)
        func px(_ v: Double) -> Double { x.position(v, from: left, to: right) }
        func py(_ v: Double) -> Double { y.position(v, from: bottom, to: top) }

        var notes: [String] = []
        if histogram.counts.isEmpty { notes.append("No finite values.") }
        if histogram.infinite > 0 { notes.append("Not binned: \(histogram.infinite) infinite value(s) (unbounded directions).") }
        if histogram.notANumber > 0 { notes.append("Not binned: \(histogram.notANumber) value(s) that are not numbers.") }
        let width = right + 16
        let height = bottom + bottomMargin + noteHeight * Double(notes.count)
        let colour = SVGPlot.colour(colourIndex)

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(n(width))" height="\(n(height))" \
            viewBox="0 0 \(n(width)) \(n(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <title>\(Markup.escaped(title))</title>
            <rect x="0" y="0" width="\(n(width))" height="\(n(height))" fill="#ffffff"/>
            <text x="\(n(left + plotWidth / 2))" y="22" text-anchor="middle" font-size="13" font-weight="bold" fill="#222222">\(Markup.escaped(title))</text>

            """
        svg += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n"
        for t in y.ticks { svg += "<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(right))\" y2=\"\(n(py(t)))\"/>\n" }
        svg += "</g>\n"
        svg += "<g fill=\"\(colour)\" fill-opacity=\"0.8\" stroke=\"#ffffff\" stroke-width=\"1\">\n"
        for (i, count) in histogram.counts.enumerated() where count > 0 {
            let low = histogram.lower + histogram.binWidth * Double(i)
            let high = low + histogram.binWidth
            svg += "<rect x=\"\(n(px(low)))\" y=\"\(n(py(Double(count))))\" width=\"\(n(px(high) - px(low)))\" height=\"\(n(bottom - py(Double(count))))\">"
            svg += "<title>[\(AxisScale.label(low, resolution: histogram.binWidth)), \(AxisScale.label(high, resolution: histogram.binWidth))): \(count)</title></rect>\n"
        }
        svg += "</g>\n"
        svg += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(plotHeight))\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
        svg += "<g font-size=\"11\" fill=\"#333333\">\n"
        for t in x.ticks { svg += "<text x=\"\(n(px(t)))\" y=\"\(n(bottom + 16))\" text-anchor=\"middle\">\(x.label(t))</text>\n" }
        for t in y.ticks { svg += "<text x=\"\(n(left - 6))\" y=\"\(n(py(t) + 4))\" text-anchor=\"end\">\(y.label(t))</text>\n" }
        svg += "</g>\n"
        svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(bottom + 34))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222222\">\(Markup.escaped(valueLabel))</text>\n"
        svg += "<text x=\"14\" y=\"\(n(top + plotHeight / 2))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222222\" transform=\"rotate(-90 14 \(n(top + plotHeight / 2)))\">count</text>\n"
        for (i, note) in notes.enumerated() {
            svg += "<text x=\"\(n(left))\" y=\"\(n(bottom + bottomMargin + noteHeight * Double(i)))\" font-size=\"11\" fill=\"#555555\">\(Markup.escaped(note))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    private func n(_ value: Double) -> String { DecimalText.fixed(value, 1) }
}
