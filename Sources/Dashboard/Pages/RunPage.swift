import DB
import Plotting

/// `/runs/<id>`: log10 volume against step, one series per estimate key, each point linking to
/// its checkpoint; the checkpoints (every version, with or without a step); the run's jobs;
/// and the few lines of script that swap in new points as the server announces them.
struct RunPage {
    let detail: RunDetail
    let axis: StepAxis
    let series: [RunSeries]

    init(_ detail: RunDetail, axis: StepAxis) {
        self.detail = detail
        self.axis = axis
        series = RunSeries.grouping(detail)
    }

    /// The `<svg>` of `#plot`.
    var svg: String {
        var svg = ""
        svg.reserveCapacity(4096 + 400 * detail.points.count)
        drawPlot(into: &svg)
        return svg
    }

    private func drawPlot(into text: inout String) {
        var plot = SVGPlot(title: "log10 volume vs step — \(detail.run.name)",
                           subtitle: "KL local volume per preconditioner and cutoff",
                           summary: "KL local volume (log10) of the run's checkpoints against training step, one line per estimate setting.")
        plot.stepScale = axis == .log ? .logarithmic : .linear
        plot.xmlDeclaration = false
        plot.render(series.map(\.plotSeries), into: &text)
    }

    var html: String {
        let id = detail.run.id
        // About 400 bytes per plotted point and per checkpoint row: one buffer for the whole page.
        var page = PageLayout.start(title: detail.run.name, capacity: 4096 + 400 * (detail.points.count + detail.checkpoints.count))
        page += """
            <h1>Run \(detail.run.name)</h1>
            <p class="note">\(detail.run.path) · run \(id) · since \(PageFormat.timestamp(detail.run.createdAt))</p>
            <p class="axis">Step axis: \(axisLink(.linear, "linear")) · \(axisLink(.log, "log"))</p>
            <div id="plot">

            """
        page.appendTrusted(drawPlot)
        page += """
            \(legend)\(stepless)</div>
            <p id="jobs">Jobs: \(detail.jobs.queued) queued · \(detail.jobs.running) running · \(detail.jobs.done) done · \
            \(detail.jobs.failed) failed</p>
            <h2>Checkpoints</h2>

            """
        writeCheckpointTable(into: &page)
        page += PageLayout.end(script: liveUpdate)
        return page.text
    }

    private func axisLink(_ target: StepAxis, _ text: String) -> HTML {
        let current: HTML = target == axis ? " class=\"current\"" : ""
        return "<a href=\"/runs/\(detail.run.id)?axis=\(target.rawValue)\"\(current)>\(text)</a>"
    }

    /// The series with full labels (the SVG's legend cuts long ones), their colours and newest values.
    private var legend: HTML {
        guard !series.isEmpty else { return "<p class=\"empty\">no estimates yet</p>\n" }
        let rows = series.enumerated().html { i, s in
            let dash: HTML = SVGPlot.dash(i).isEmpty ? "" : " stroke-dasharray=\"\(SVGPlot.dash(i))\""
            let newest = s.points.last
            return """
                <tr><td><svg width="28" height="10" aria-hidden="true"><line x1="1" y1="5" x2="27" y2="5" stroke="\(SVGPlot.colour(i))" \
                stroke-width="2"\(dash)/></svg></td><td>\(s.label)</td>\
                <td class="num">\(s.points.count)</td><td class="num">\(newest.map { PageFormat.volume($0.log10Volume) } ?? "—")</td>\
                <td class="num">\(PageFormat.step(newest?.step))</td></tr>

                """
        }
        return """

            <table class="legend">
            <thead><tr><th></th><th>series</th><th class="num">steps</th><th class="num">newest log10 volume</th><th class="num">at step</th></tr></thead>
            <tbody>
            \(rows)</tbody>
            </table>

            """
    }

    /// Estimates of checkpoints without a step: listed, since they have no place on the axis.
    private var stepless: HTML {
        let points = series.flatMap { s in s.stepless.map { (s.label, $0) } }
        guard !points.isEmpty else { return "" }
        let items = points.html { label, point in
            "<li>no step: <a href=\"/checkpoints/\(point.checkpointID)\">checkpoint \(point.checkpointID)</a> · \(label): \(PageFormat.volume(point.log10Volume))</li>\n"
        }
        return "<p>Not plotted (checkpoints without a step):</p>\n<ul id=\"stepless\">\n\(items)</ul>\n"
    }

    private func writeCheckpointTable(into page: inout HTML) {
        // Versions of a step, oldest first (the store's order), and estimates per checkpoint.
        var versions: [Int64: [Int64]] = [:]
        for checkpoint in detail.checkpoints {
            if let step = checkpoint.step { versions[step, default: []].append(checkpoint.id) }
        }
        var estimates: [Int64: Int] = [:]
        for point in detail.points { estimates[point.checkpointID, default: 0] += 1 }
        page += """
            <table id="checkpoints">
            <thead><tr><th class="num">step</th><th>version</th><th>checkpoint</th><th>fingerprint</th><th class="num">parameters</th>\
            <th>architecture</th><th class="num">estimates</th><th>added</th></tr></thead>
            <tbody>

            """
        if detail.checkpoints.isEmpty { page += "<tr><td colspan=\"8\" class=\"empty\">no checkpoints yet</td></tr>\n" }
        for checkpoint in detail.checkpoints {
            var version: HTML = ""
            if let step = checkpoint.step, let ids = versions[step], ids.count > 1, let k = ids.firstIndex(of: checkpoint.id) {
                version = "version \(k + 1) of \(ids.count)"
            }
            page += """
                <tr><td class="num">\(PageFormat.step(checkpoint.step))</td><td>\(version)</td>\
                <td><a href="/checkpoints/\(checkpoint.id)">\(fileName(checkpoint.path))</a></td>\
                <td><code>\(PageFormat.fingerprint(checkpoint.fingerprint))</code></td>\
                <td class="num">\(checkpoint.nParams.map(PageFormat.count) ?? "—")</td><td>\(checkpoint.architecture ?? "—")</td>\
                <td class="num">\(estimates[checkpoint.id] ?? 0)</td><td>\(PageFormat.timestamp(checkpoint.createdAt))</td></tr>

                """
        }
        page += "</tbody>\n</table>\n"
    }

    private func fileName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), path.index(after: slash) < path.endIndex else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// On each `estimate` event of this run, fetch the page again (same axis) and swap in its
    /// plot, checkpoints and jobs; events that arrive during a fetch are folded into one more.
    private var liveUpdate: HTML {
        let id = detail.run.id
        return """
            <script>
            (() => {
              const url = '/runs/\(id)?axis=\(axis.rawValue)';
              let busy = false, again = false;
              async function refresh() {
                if (busy) { again = true; return; }
                busy = true;
                try {
                  const response = await fetch(url, { cache: 'no-store' });
                  if (response.ok) {
                    const page = new DOMParser().parseFromString(await response.text(), 'text/html');
                    for (const part of ['plot', 'checkpoints', 'jobs']) {
                      const fresh = page.getElementById(part), shown = document.getElementById(part);
                      if (fresh && shown) shown.innerHTML = fresh.innerHTML;
                    }
                  }
                } catch (error) {
                  console.warn('volumed: refresh failed', error);
                } finally {
                  busy = false;
                  if (again) { again = false; refresh(); }
                }
              }
              new EventSource('/runs/\(id)/events').addEventListener('estimate', refresh);
            })();
            </script>
            """
    }
}
