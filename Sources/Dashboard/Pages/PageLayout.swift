/// The frame of every page: one HTML5 document with its style inline (no fonts, scripts or
/// style sheets from elsewhere, so the dashboard works offline) and a link home.
enum PageLayout {
    static func document(title: String, body: HTML, script: HTML? = nil) -> String {
        var page = start(title: title)
        page += body
        page += end(script: script)
        return page.text
    }

    /// The document up to the start of `<main>`, in a buffer of `capacity` bytes, so that a
    /// large page is written into one string without regrowing it.
    static func start(title: String, capacity: Int = 0) -> HTML {
        var page = HTML()
        page.reserveCapacity(capacity + style.utf8.count + 512)
        page += """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · volumed</title>
            <style>\(trusted: style)</style>
            </head>
            <body>
            <header><a href="/">volumed</a></header>
            <main>

            """
        return page
    }

    /// The end of `<main>`, the page's script, and the end of the document.
    static func end(script: HTML? = nil) -> HTML {
        """
        </main>
        \(script ?? "")
        </body>
        </html>

        """
    }

    private static let style = """

        body { font-family: system-ui, "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #fafafa; }
        header { background: #1f3a5f; padding: 0.5rem 1rem; }
        header a { color: #fff; font-weight: bold; text-decoration: none; }
        main { padding: 0.5rem 1rem 2rem; max-width: 80rem; }
        h1 { font-size: 1.4rem; overflow-wrap: anywhere; }
        h2 { font-size: 1.15rem; margin-top: 1.6rem; }
        h3 { font-size: 1rem; overflow-wrap: anywhere; }
        a { color: #0b5cad; }
        table { border-collapse: collapse; background: #fff; margin: 0.4rem 0; }
        th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
        th { background: #f0f0f0; font-weight: 600; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.error { max-width: 40rem; overflow-wrap: anywhere; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; }
        ul.series { list-style: none; margin: 0; padding: 0; }
        .empty, .note { color: #666; }
        .axis a.current { font-weight: bold; color: #222; text-decoration: none; }
        #plot svg { max-width: 100%; height: auto; background: #fff; }
        .histograms svg { max-width: 100%; height: auto; margin-right: 1rem; vertical-align: top; }
        code { font-size: 0.9em; }

        """
}
