import Foundation

/// Draws volume-vs-step series as one self-contained SVG 1.1 document (no scripts, fonts or
/// images from elsewhere): x = step, y = log10 volume, a coloured line with markers per
/// series, the 95% intervals as bars, a legend, and a title naming the cutoff(s).
/// Pure — series in, text out — so it is tested without a database.
struct SVGPlot {
    /// Okabe–Ito colours, told apart with the common colour-vision deficiencies (its yellow is
    /// left out: too faint on white). After all of them, series repeat them with a dash pattern.
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"]
    static let dashes = ["", "8 4", "2 3"]
    /// Legend labels longer than this are cut (names come from folder names).
    static let maximumLabelLength = 48

    var plotWidth = 600.0
    var plotHeight = 360.0

    private let top = 64.0
    private let bottomMargin = 60.0
    private let noteHeight = 16.0
    private let legendRow = 20.0
    /// Approximate advance of one character at the 11–12 px label sizes, for laying out
    /// text whose rendered width is unknown here.
    private let characterWidth = 6.6

    func render(_ series: [VolumeSeries]) -> String {
        let cutoffs = Set(series.map(\.cutoff)).sorted()
        let x = AxisScale(covering: series.flatMap { $0.points.map { Double($0.step) } }, integral: true)
        let y = AxisScale(covering: series.flatMap { s in
            s.points.flatMap { p in [p.log10Volume, p.interval?.lowerBound, p.interval?.upperBound].compactMap { $0 } }
        })
        // With only infinite volumes there is no value to put on the y axis.
        let yTicks = series.contains { $0.points.contains { $0.log10Volume?.isFinite == true } } ? y.ticks : []
        let yLabels = yTicks.map(y.label)
        let left = 44 + characterWidth * Double(yLabels.map(\.count).max() ?? 1)
        let bottom = top + plotHeight
        let right = left + plotWidth
        func px(_ step: Double) -> Double { x.position(step, from: left, to: right) }
        func py(_ value: Double) -> Double { y.position(value, from: bottom, to: top) }

        let labels = series.map { legendLabel($0, withCutoff: cutoffs.count > 1) }
        let legendX = right + 28
        let legendWidth = 40 + characterWidth * Double(labels.map(\.count).max() ?? 0)
        var notes: [String] = []
        if series.contains(where: { $0.points.contains { $0.interval != nil } }) {
            notes.append("Bars: 95% bootstrap interval over directions (a lower bound on the uncertainty).")
        }
        if series.contains(where: { $0.points.contains { $0.log10Volume == nil } }) {
            notes.append("▲ at the top edge: infinite volume (unbounded directions).")
        }
        let stepless = series.reduce(0) { $0 + $1.checkpointsWithoutStep.count }
        if stepless > 0 { notes.append("Not shown: \(stepless) estimate(s) of checkpoints without a step.") }
        let width = legendX + legendWidth + 16
        let height = max(bottom + bottomMargin + noteHeight * Double(notes.count),
                         top + legendRow * Double(series.count) + 16)

        let cutoffText = (cutoffs.count == 1 ? "cutoff " : "cutoffs ") + cutoffs.map { "\($0)" }.joined(separator: ", ")
        let title = "log10 volume vs step — \(cutoffText)"
        var svg = """
            <?xml version="1.0" encoding="UTF-8" standalone="no"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(n(width))" height="\(n(height))" \
            viewBox="0 0 \(n(width)) \(n(height))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
            <title>\(Self.escaped(title))</title>
            <desc>KL local volume (log10) of checkpoints against training step, one line per run and preconditioner.</desc>
            <rect x="0" y="0" width="\(n(width))" height="\(n(height))" fill="#ffffff"/>
            <text x="\(n(left + plotWidth / 2))" y="28" text-anchor="middle" font-size="16" font-weight="bold" fill="#222222">\(Self.escaped(title))</text>
            <text x="\(n(left + plotWidth / 2))" y="46" text-anchor="middle" font-size="12" fill="#555555">KL local volume per run and preconditioner</text>

            """

        // Grid, frame, ticks and their labels.
        svg += "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n"
        for t in x.ticks { svg += "<line x1=\"\(n(px(t)))\" y1=\"\(n(top))\" x2=\"\(n(px(t)))\" y2=\"\(n(bottom))\"/>\n" }
        for t in yTicks { svg += "<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(right))\" y2=\"\(n(py(t)))\"/>\n" }
        svg += "</g>\n"
        svg += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(plotHeight))\" fill=\"none\" stroke=\"#333333\" stroke-width=\"1\"/>\n"
        svg += "<g stroke=\"#333333\" stroke-width=\"1\">\n"
        for t in x.ticks { svg += "<line x1=\"\(n(px(t)))\" y1=\"\(n(bottom))\" x2=\"\(n(px(t)))\" y2=\"\(n(bottom + 5))\"/>\n" }
        for t in yTicks { svg += "<line x1=\"\(n(left - 5))\" y1=\"\(n(py(t)))\" x2=\"\(n(left))\" y2=\"\(n(py(t)))\"/>\n" }
        svg += "</g>\n"
        svg += "<g font-size=\"11\" fill=\"#333333\">\n"
        for t in x.ticks { svg += "<text x=\"\(n(px(t)))\" y=\"\(n(bottom + 18))\" text-anchor=\"middle\">\(x.label(t))</text>\n" }
        for (t, label) in zip(yTicks, yLabels) { svg += "<text x=\"\(n(left - 8))\" y=\"\(n(py(t) + 4))\" text-anchor=\"end\">\(label)</text>\n" }
        svg += "</g>\n"
        svg += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(bottom + 40))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222222\">step</text>\n"
        svg += "<text x=\"16\" y=\"\(n(top + plotHeight / 2))\" text-anchor=\"middle\" font-size=\"12\" fill=\"#222222\" transform=\"rotate(-90 16 \(n(top + plotHeight / 2)))\">log10 volume</text>\n"

        for (i, s) in series.enumerated() {
            let colour = Self.colour(i)
            svg += "<g fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dashAttribute(i))>\n"
            svg += "<title>\(Self.escaped(labels[i]))</title>\n"
            for p in s.points {
                guard let interval = p.interval else { continue }
                svg += "<line x1=\"\(n(px(Double(p.step))))\" y1=\"\(n(py(interval.lowerBound)))\" x2=\"\(n(px(Double(p.step))))\" y2=\"\(n(py(interval.upperBound)))\" stroke-width=\"1.5\" stroke-opacity=\"0.6\" stroke-dasharray=\"none\"/>\n"
            }
            for segment in Self.segments(s.points) where segment.count >= 2 {
                let points = segment.map { "\(n(px(Double($0.step)))),\(n(py($0.value)))" }.joined(separator: " ")
                svg += "<polyline points=\"\(points)\"/>\n"
            }
            for p in s.points {
                if let v = p.log10Volume, v.isFinite {
                    svg += "<circle cx=\"\(n(px(Double(p.step))))\" cy=\"\(n(py(v)))\" r=\"3.5\" fill=\"\(colour)\" stroke=\"#ffffff\" stroke-width=\"1\" stroke-dasharray=\"none\"/>\n"
                } else if p.log10Volume == nil {
                    let cx = px(Double(p.step))
                    svg += "<path d=\"M \(n(cx)) \(n(top + 1)) L \(n(cx - 5)) \(n(top + 11)) L \(n(cx + 5)) \(n(top + 11)) Z\" fill=\"\(colour)\" stroke=\"none\"/>\n"
                }
            }
            svg += "</g>\n"
        }

        svg += "<g font-size=\"12\" fill=\"#222222\">\n"
        for (i, label) in labels.enumerated() {
            let rowY = top + 8 + legendRow * Double(i)
            svg += "<line x1=\"\(n(legendX))\" y1=\"\(n(rowY))\" x2=\"\(n(legendX + 26))\" y2=\"\(n(rowY))\" stroke=\"\(Self.colour(i))\" stroke-width=\"2\"\(dashAttribute(i))/>\n"
            svg += "<circle cx=\"\(n(legendX + 13))\" cy=\"\(n(rowY))\" r=\"3.5\" fill=\"\(Self.colour(i))\" stroke=\"#ffffff\" stroke-width=\"1\"/>\n"
            svg += "<text x=\"\(n(legendX + 34))\" y=\"\(n(rowY + 4))\">\(Self.escaped(label))</text>\n"
        }
        svg += "</g>\n"

        for (i, note) in notes.enumerated() {
            svg += "<text x=\"\(n(left))\" y=\"\(n(bottom + bottomMargin + noteHeight * Double(i)))\" font-size=\"11\" fill=\"#555555\">\(Self.escaped(note))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// "run · preconditioner", with the cutoff when the plot shows several; cut to
    /// `maximumLabelLength` characters.
    func legendLabel(_ s: VolumeSeries, withCutoff: Bool) -> String {
        var label = "\(s.run) · \(s.preconditionerName)"
        if withCutoff { label += " · cutoff \(s.cutoff)" }
        return label.count > Self.maximumLabelLength ? String(label.prefix(Self.maximumLabelLength - 1)) + "…" : label
    }

    static func colour(_ index: Int) -> String { palette[index % palette.count] }

    private func dashAttribute(_ index: Int) -> String {
        let dash = Self.dashes[(index / Self.palette.count) % Self.dashes.count]
        return dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
    }

    /// Runs of consecutive finite points: an infinite volume breaks the line.
    static func segments(_ points: [VolumeSeries.Point]) -> [[(step: Int64, value: Double)]] {
        var segments: [[(step: Int64, value: Double)]] = [[]]
        for p in points {
            if let v = p.log10Volume, v.isFinite {
                segments[segments.count - 1].append((p.step, v))
            } else if !segments[segments.count - 1].isEmpty {
                segments.append([])
            }
        }
        return segments.filter { !$0.isEmpty }
    }

    /// Text for XML character data and attribute values: markup characters escaped, and
    /// characters XML 1.0 cannot hold at all (control characters) replaced by U+FFFD.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Coordinates to 0.1 px.
    private func n(_ value: Double) -> String { String(format: "%.1f", value) }
}
