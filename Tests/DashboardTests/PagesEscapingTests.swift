import DB
import Foundation
import Testing
@testable import Dashboard

/// A run folder named `<img src=x onerror=alert(1)>` shows as text on every page and in the plot.
@Suite struct PagesEscapingTests {
    @Test func escapesAHostileRunNameOnTheRunPageAndItsPlot() {
        let run = RunRecord(id: 1, name: hostile, path: "/watch/\(hostile)", createdAt: epoch)
        let c1 = checkpointRecord(1, step: 10, path: "/watch/\(hostile)/\(hostile)", architecture: hostile)
        let c2 = checkpointRecord(2, step: nil, path: "/watch/\(hostile)/model.safetensors")
        let detail = RunDetail(run: run, checkpoints: [c1, c2],
                               points: [point(key(hostile, params: "a=\"1\""), c1, -5), point(key(hostile, params: "a=\"1\""), c2, -6)],
                               jobs: QueueCounts())
        for html in [DashboardPages.run(detail, axis: .linear), DashboardPages.run(detail, axis: .log)] {
            #expect(!html.contains("<img"))
            #expect(html.contains("<title>\(escapedHostile) · volumed</title>"))
            #expect(html.contains("<h1>Run \(escapedHostile)</h1>"))
            #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;:a=&quot;1&quot; · cutoff 0.01"))
        }
        let svg = DashboardPages.runPlot(detail, axis: .linear)
        #expect(!svg.contains("<img"))
        #expect(svg.contains("log10 volume vs step — \(escapedHostile)"))
    }

    @Test func escapesEveryMarkupCharacterAndControlCharacters() {
        let html: HTML = "<p title=\"\("a\"b'c")\">\("x < y & z > w\u{1}")</p>"
        #expect(html.text == "<p title=\"a&quot;b&apos;c\">x &lt; y &amp; z &gt; w\u{FFFD}</p>")
        let trusted: HTML = "<div>\(trusted: "<svg/>")\(42)</div>"
        #expect(trusted.text == "<div><svg/>42</div>")
    }
}
