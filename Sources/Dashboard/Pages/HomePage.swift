import DB

/// `/`: every run with its newest volumes and jobs, the whole queue, the last failures.
struct HomePage {
    let overview: DashboardOverview

    var html: String {
        var body: HTML = """
            <h1>Runs</h1>
            <p id="queue">Jobs, every run: \(overview.queue.queued) queued · \(overview.queue.running) running · \
            \(overview.queue.done) done · \(overview.queue.failed) failed\(expired)</p>

            """
        if overview.runs.isEmpty {
            body += "<p class=\"empty\">no runs yet</p>\n"
        } else {
            body += """
                <table id="runs">
                <thead><tr><th>run</th><th class="num">latest step</th><th class="num">checkpoints</th>\
                <th>latest log10 volume per series (change since the previous checkpoint)</th>\
                <th class="num">queued</th><th class="num">running</th><th class="num">failed</th></tr></thead>
                <tbody>
                \(overview.runs.html(row))</tbody>
                </table>

                """
        }
        body += "<h2>Last failures</h2>\n"
        if overview.failures.isEmpty {
            body += "<p class=\"empty\">no failures</p>\n"
        } else {
            body += """
                <table id="failures">
                <thead><tr><th>when</th><th>run</th><th>checkpoint</th><th>state</th><th class="num">attempts</th>\
                <th>error code</th><th>error</th></tr></thead>
                <tbody>
                \(overview.failures.html(failure))</tbody>
                </table>

                """
        }
        return PageLayout.document(title: "runs", body: body)
    }

    private var expired: HTML {
        overview.queue.expiredLeases > 0 ? " (\(overview.queue.expiredLeases) with an expired lease)" : ""
    }

    private func row(_ run: RunOverview) -> HTML {
        """
        <tr><td><a href="/runs/\(run.run.id)">\(run.run.name)</a></td><td class="num">\(PageFormat.step(run.latestStep))</td>\
        <td class="num">\(run.checkpoints)</td><td>\(latest(run))</td><td class="num">\(run.jobs.queued)</td>\
        <td class="num">\(run.jobs.running)</td><td class="num">\(run.jobs.failed)</td></tr>

        """
    }

    private func latest(_ run: RunOverview) -> HTML {
        guard !run.latest.isEmpty else { return "<span class=\"empty\">no estimates yet</span>" }
        let labels = SeriesLabels(run.latest.map(\.key))
        let items = run.latest.html { volume in
            var change: HTML = ""
            if let delta = volume.change {
                change = " (\(PageFormat.change(delta)) since step \(PageFormat.step(volume.previousStep)))"
            } else if volume.previousCheckpointID == nil {
                change = " (first)"
            }
            return """
                <li>\(labels.label(volume.key)): <a href="/checkpoints/\(volume.checkpointID)">\(PageFormat.volume(volume.log10Volume))</a> \
                at step \(PageFormat.step(volume.step))\(change)</li>
                """
        }
        return "<ul class=\"series\">\(items)</ul>"
    }

    private func failure(_ failure: JobFailure) -> HTML {
        let checkpoint = failure.step.map { "step \($0)" } ?? "no step"
        let state = failure.state == .queued ? "retrying" : failure.state.rawValue
        return """
            <tr><td>\(PageFormat.timestamp(failure.updatedAt))</td><td><a href="/runs/\(failure.runID)">\(failure.run)</a></td>\
            <td><a href="/checkpoints/\(failure.checkpointID)" title="\(failure.checkpointPath)">\(checkpoint)</a></td>\
            <td>\(state)</td><td class="num">\(failure.attempts) of \(failure.maxAttempts)</td>\
            <td><code>\(failure.errorCode ?? "—")</code></td><td class="error">\(failure.lastError)</td></tr>

            """
    }
}
