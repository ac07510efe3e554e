/// Plots stacked one under the other in one SVG document (`volumed report --svg`: the volume,
/// and the LLC in a panel under it), each drawn by its `SVGPlot` with its own axes and legend.
public enum SVGPanels {
    /// One document holding every panel, top first. Empty panels are drawn too (their axes
    /// say there is nothing); callers leave out what they do not want.
    public static func stacked(_ panels: [(plot: SVGPlot, series: [PlotSeries])], title: String) -> String {
        var body = ""
        var width = 0.0, height = 0.0
        for (plot, series) in panels {
            var panel = plot
            panel.xmlDeclaration = false
            var text = ""
            let size = panel.render(series, into: &text)
            body += "<g transform=\"translate(0 \(DecimalText.fixed(height, 1)))\">\n" + text + "</g>\n"
            width = max(width, size.width)
            height += size.height
        }
        let w = DecimalText.fixed(width, 1), h = DecimalText.fixed(height, 1)
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="no"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(w)" height="\(h)" viewBox="0 0 \(w) \(h)">
            <title>\(Markup.escaped(title))</title>
            <rect x="0" y="0" width="\(w)" height="\(h)" fill="#ffffff"/>

            """ + body + "</svg>\n"
    }
}
