import Foundation

/// Draws volume-vs-step series as one self-contained SVG document (no scripts, fonts or
/// images from elsewhere): x = step (linear or logarithmic), y = log10 volume, a coloured line
/// with markers per series, the 95% intervals as bars, a legend, and a title. `volumed report
/// --svg` and the dashboard's run page both draw with it, so they share palette and labels.
/// Pure — series in, text out — so it is tested without a database.
public struct SVGPlot: Sendable {
    /// How steps are spaced along the x axis.
    public enum StepScale: Sendable {
        case linear
        /// Steps ≤ 0 cannot be placed on it: they are left out, and a note says how many.
        case logarithmic
    }

    /// Okabe–Ito colours, told apart with the common colour-vision deficiencies (its yellow is
    /// left out: too faint on white). After all of them, series repeat them with a dash pattern.
    public static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
    public static let dashes = ["", "8 4", "2 3"]

    public var title: String
    /// Drawn under the title; nothing when empty.
    public var subtitle: String
    /// The document's `<desc>`.
    public var summary: String
    /// The y axis's title; the LLC panel draws its values in the same way as log10 volumes.
    public var yTitle = "log10 volume"
    /// The note explaining the bars, shown when a point has an interval.
    public var intervalNote = "Bars: 95% bootstrap interval over directions (a lower bound on the uncertainty)."
    public var stepScale: StepScale = .linear
    /// Whether the text starts with `<?xml …?>`: yes for a file, no for SVG inside HTML.
    public var xmlDeclaration = true
    /// Legend labels longer than this are cut (names come from folder names).
    public var maximumLabelLength = 48
    public var plotWidth = 600.0
    public var plotHeight = 360.0

    private let top = 64.0
    private let bottomMargin = 60.0
    private let noteHeight = 16.0
    private let legendRow = 20.0
    /// Approximate advance of one character at the 11–12 px label sizes, for laying out
    /// text whose rendered width is unknown here.
    private let characterWidth = 6.6

    public init(title: String, subtitle: String = "", summary: String = "KL local volume (log10) against training step.") {
        self.title = title
        self.subtitle = subtitle
        self.summary = summary
    }

    public func render(_ series: [PlotSeries]) -> String {
        var svg = ""
        svg.reserveCapacity(4096 + 400 * series.reduce(0) { $0 + $1.points.count })
        render(series, into: &svg)
        return svg
    }

    /// Appends the SVG to `svg`: a page draws its plot straight into its own text, without
    /// copying a large string.
    /// Returns the document's width and height (`SVGPanels` stacks plots by them).
    @discardableResult
    public func render(_ series: [PlotSeries], into svg: inout String) -> (width: Double, height: Double) {
        let logarithmic = stepScale == .logarithmic
        // A log axis has no place for steps ≤ 0: leave them out (and say so below).
        var hidden = 0
        let shown: [[PlotSeries.Point]] = series.map { s in
            guard logarithmic else { return s.points }
            let placeable = s.points.filter { $0.step > 0 }
            hidden += s.points.count - placeable.count
            return placeable
        }
        let steps = shown.flatMap { $0.map { Double($0.step) } }
        let x = logarithmic ? AxisScale(logarithmicCovering: steps, integral: true) : AxisScale(covering: steps, integral: true)
        let y = AxisScale(covering: shown.flatMap { points in
            points.flatMap { p in [p.log10Volume, p.interval?.lowerBound, p.interval?.upperBound].compactMap { $0 } }
        })
        // With only infinite volumes there is no value to put on the y axis.
        let yTicks = shown.contains { $0.contains { $0.log10Volume?.isFinite == true } } ? y.ticks : []
        let yLabels = yTicks.map(y.label)
        let left = 44 + characterWidth * Double(yLabels.map(\.count).max() ?? 1)
        let bottom = top + plotHeight
        let right = left + plotWidth
        func px(_ step: Int64) -> Double { x.position(Double(step), from: left, to: right) }
        func py(_ value: Double) -> Double { y.position(value, from: bottom, to: top) }

        let labels = series.map { legendLabel($0.label) }
        let legendX = right + 28
        let legendWidth = 40 + characterWidth * Double(labels.map(\.count).max() ?? 0)
        var notes: [String] = []
        if shown.contains(where: { $0.contains { $0.interval != nil } }) {
            notes.append(intervalNote)
        }
        if shown.contains(where: { $0.contains { $0.log10Volume == nil } }) {
            notes.append("▲ at the top edge: infinite volume (unbounded directions).")
        }
        let unplaced = series.reduce(0) { $0 + $1.unplaced }
        if unplaced > 0 { notes.append("Not shown: \(unplaced) estimate(s) of checkpoints without a step.") }
        if hidden > 0 { notes.append("Not shown on the log step axis: \(hidden) point(s) at step 0 or below.") }
        let width = legendX + legendWidth + 16
        let height = max(bottom + bottomMargin + noteHeight * Double(notes.count),
                         top + legendRow * Double(series.count) + 16)

        if xmlDeclaration { svg += "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n" }
        svg += """
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(n(width))" height="\(n(height))" \
            viewBox="0 0 \(n(width)) \(n(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <title>\(Markup.escaped(title))</title>
            <desc>\(Markup.escaped(summary))</desc>
            <rect x="0" y="0" width="\(n(width))" height="\(n(height))" fill="#ffffff"/>
            <text x="\(n(left + plotWidth / 2))" y="28" text-anchor="middle" font-size="16" font-weight="bold" fill="#222222">\(Markup.escaped(title))</text>

            """
        if !subtitle.isEmpty {
            svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"46\" text-anchor=\"middle\" font-size=\"12\" fill=\"#555555\">\(Markup.escaped(subtitle))</text>\n"
        }

        // Grid, frame, ticks and their labels.
        svg += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n"
        for t in x.ticks { svg += "<line x1=\"\(n(x.position(t, from: left, to: right)))\" y1=\"\(n(top))\" x2=\"\(n(x.position(t, from: left, to: right)))\" y2=\"\(n(bottom))\"/>\n" }
        for t in yTicks { svg += "<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(right))\" y2=\"\(n(py(t)))\"/>\n" }
        svg += "</g>\n"
        svg += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(plotHeight))\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
        svg += "<g stroke=\"#333333\" stroke-width=\"1\">\n"
        for t in x.ticks { svg += "<line x1=\"\(n(x.position(t, from: left, to: right)))\" y1=\"\(n(bottom))\" x2=\"\(n(x.position(t, from: left, to: right)))\" y2=\"\(n(bottom + 5))\"/>\n" }
        for t in yTicks { svg += "<line x1=\"\(n(left - 5))\" y1=\"\(n(py(t)))\" x2=\"\(n(left))\" y2=\"\(n(py(t)))\"/>\n" }
        svg += "</g>\n"
        svg += "<g font-size=\"11\" fill=\"#333333\">\n"
        for t in x.ticks { svg += "<text x=\"\(n(x.position(t, from: left, to: right)))\" y=\"\(n(bottom + 18))\" text-anchor=\"middle\">\(x.label(t))</text>\n" }
        for (t, label) in zip(yTicks, yLabels) { svg += "<text x=\"\(n(left - 8))\" y=\"\(n(py(t) + 4))\" text-anchor=\"end\">\(label)</text>\n" }
        svg += "</g>\n"
        let xTitle = logarithmic ? "step (log scale)" : "step"
        svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(bottom + 40))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222222\">\(xTitle)</text>\n"
        svg += "<text x=\"16\" y=\"\(n(top + plotHeight / 2))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222222\" transform=\"rotate(-90 16 \(n(top + plotHeight / 2)))\">\(Markup.escaped(yTitle))</text>\n"

        for (i, points) in shown.enumerated() {
            let colour = Self.colour(i)
            // Each point's coordinates as text, once: they appear in its bar, line and marker.
            let xs = points.map { n(px($0.step)) }
            let ys = points.map { p in p.log10Volume.flatMap { $0.isFinite ? n(py($0)) : nil } }
            svg += "<g fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dashAttribute(i))>\n"
            svg += "<title>\(Markup.escaped(labels[i]))</title>\n"
            // Thousands of points: appended piece by piece, without a temporary string per element.
            for (k, p) in points.enumerated() {
                guard let interval = p.interval else { continue }
                svg += "<line x1=\""
                svg += xs[k]
                svg += "\" y1=\""
                svg += n(py(interval.lowerBound))
                svg += "\" x2=\""
                svg += xs[k]
                svg += "\" y2=\""
                svg += n(py(interval.upperBound))
                svg += "\" stroke-width=\"1.5\" stroke-opacity=\"0.6\" stroke-dasharray=\"none\"/>\n"
            }
            // Runs of consecutive finite points: an infinite volume breaks the line.
            var k = 0
            while k < points.count {
                guard ys[k] != nil else { k += 1; continue }
                var end = k
                while end + 1 < points.count, ys[end + 1] != nil { end += 1 }
                if end > k {
                    svg += "<polyline points=\""
                    for j in k...end {
                        if j > k { svg += " " }
                        svg += xs[j]
                        svg += ","
                        svg += ys[j] ?? ""
                    }
                    svg += "\"/>\n"
                }
                k = end + 1
            }
            let circleEnd = "\" r=\"3.5\" fill=\"\(colour)\" stroke=\"#ffffff\" stroke-width=\"1\" stroke-dasharray=\"none\"/>"
            for (k, p) in points.enumerated() {
                if p.log10Volume != nil, ys[k] == nil { continue }  // NaN: nowhere to draw it
                if let link = p.link {
                    svg += "<a href=\""
                    svg += Markup.escaped(link.href)
                    svg += "\""
                    for attribute in link.data {
                        svg += " data-"
                        svg += attribute.name
                        svg += "=\""
                        svg += Markup.escaped(attribute.value)
                        svg += "\""
                    }
                    svg += "><title>step "
                    svg += String(p.step)
                    svg += ": "
                    svg += p.log10Volume.map { DecimalText.fixed($0, 2) } ?? "∞"
                    svg += "</title>"
                }
                if let y = ys[k] {
                    svg += "<circle cx=\""
                    svg += xs[k]
                    svg += "\" cy=\""
                    svg += y
                    svg += circleEnd
                } else {
                    let cx = px(p.step)
                    svg += "<path d=\"M \(xs[k]) \(n(top + 1)) L \(n(cx - 5)) \(n(top + 11)) L \(n(cx + 5)) \(n(top + 11)) Z\" fill=\"\(colour)\" stroke=\"none\"/>"
                }
                svg += p.link == nil ? "\n" : "</a>\n"
            }
            svg += "</g>\n"
        }

        svg += "<g font-size=\"12\" fill=\"#222222\">\n"
        for (i, label) in labels.enumerated() {
            let rowY = top + 8 + legendRow * Double(i)
            svg += "<line x1=\"\(n(legendX))\" y1=\"\(n(rowY))\" x2=\"\(n(legendX + 26))\" y2=\"\(n(rowY))\" stroke=\"\(Self.colour(i))\" stroke-width=\"2\"\(dashAttribute(i))/>\n"
            svg += "<circle cx=\"\(n(legendX + 13))\" cy=\"\(n(rowY))\" r=\"3.5\" fill=\"\(Self.colour(i))\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n"
            svg += "<text x=\"\(n(legendX + 34))\" y=\"\(n(rowY + 4))\">\(Markup.escaped(label))</text>\n"
        }
        svg += "</g>\n"

        for (i, note) in notes.enumerated() {
            svg += "<text x=\"\(n(left))\" y=\"\(n(bottom + bottomMargin + noteHeight * Double(i)))\" font-size=\"11\" fill=\"#555555\">\(Markup.escaped(note))</text>\n"
        }
        svg += "</svg>\n"
        return (width, height)
    }

    /// The label cut to `maximumLabelLength` characters.
    public func legendLabel(_ label: String) -> String {
        label.count > maximumLabelLength ? String(label.prefix(maximumLabelLength - 1)) + "…" : label
    }

    /// Series `index`'s colour: the palette, repeated.
    public static func colour(_ index: Int) -> String { palette[index % palette.count] }

    /// Series `index`'s SVG `stroke-dasharray` ("" for a solid line): solid through the
    /// palette, then each dash pattern in turn.
    public static func dash(_ index: Int) -> String { dashes[(index / palette.count) % dashes.count] }

    private func dashAttribute(_ index: Int) -> String {
        let dash = Self.dash(index)
        return dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
    }

    /// Coordinates to 0.1 px.
    private func n(_ value: Double) -> String { DecimalText.fixed(value, 1) }
}
