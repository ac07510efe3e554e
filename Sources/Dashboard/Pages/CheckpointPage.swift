import DB
import Foundation
import Plotting

/// `/checkpoints/<id>`: the checkpoint, the other versions of its step, every estimate with
/// its settings, numbers and per-direction histograms, the skipped ones with their reasons,
/// and its jobs with their errors.
struct CheckpointPage {
    let detail: CheckpointDetail

    private var checkpoint: CheckpointRecord { detail.checkpoint }

    var html: String {
        let labels = SeriesLabels(detail.estimates.map(\.record.key))
        var computed: [(StoredEstimate, EstimateResult)] = []
        var skipped: [(StoredEstimate, String)] = []
        for estimate in detail.estimates {
            switch estimate.record.outcome {
            case .computed(let result): computed.append((estimate, result))
            case .skipped(let reason): skipped.append((estimate, reason))
            }
        }
        var body: HTML = """
            <h1>Checkpoint \(checkpoint.id) of run <a href="/runs/\(detail.run.id)">\(detail.run.name)</a></h1>
            \(facts)\(versions)
            <h2>Estimates</h2>

            """
        if computed.isEmpty {
            body += "<p class=\"empty\">no estimates yet</p>\n"
        } else {
            body += summary(computed, labels)
            for (estimate, result) in computed { body += section(estimate, result, labels) }
        }
        if !skipped.isEmpty {
            body += """
                <h2>Skipped</h2>
                <table id="skipped">
                <thead><tr><th>estimate</th><th>reason</th></tr></thead>
                <tbody>
                \(skipped.html { estimate, reason in "<tr><td>\(labels.label(estimate.record.key))</td><td class=\"error\">\(reason)</td></tr>\n" })</tbody>
                </table>

                """
        }
        body += "<h2>Jobs</h2>\n"
        body += detail.jobs.isEmpty ? "<p class=\"empty\">no jobs</p>\n" : jobTable
        return PageLayout.document(title: "checkpoint \(checkpoint.id)", body: body)
    }

    /// This checkpoint's version number among its step's versions (all of them oldest first).
    private var version: (number: Int, of: Int)? {
        guard !detail.otherVersions.isEmpty else { return nil }
        let all = (detail.otherVersions + [checkpoint]).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        return all.firstIndex { $0.id == checkpoint.id }.map { ($0 + 1, all.count) }
    }

    private var facts: HTML {
        var step: HTML = checkpoint.step.map { "\($0)" } ?? "no step"
        if let version { step += " (version \(version.number) of \(version.of))" }
        return """
            <dl class="facts">
            <dt>run</dt><dd><a href="/runs/\(detail.run.id)">\(detail.run.name)</a></dd>
            <dt>step</dt><dd id="step">\(step)</dd>
            <dt>path</dt><dd><code>\(checkpoint.path)</code></dd>
            <dt>fingerprint</dt><dd><code>\(checkpoint.fingerprint)</code></dd>
            <dt>parameters</dt><dd>\(checkpoint.nParams.map(PageFormat.count) ?? "not read yet")</dd>
            <dt>architecture</dt><dd>\(checkpoint.architecture ?? "—")</dd>
            <dt>added</dt><dd>\(PageFormat.timestamp(checkpoint.createdAt))</dd>
            </dl>

            """
    }

    private var versions: HTML {
        guard !detail.otherVersions.isEmpty else { return "" }
        let heading = checkpoint.step == nil ? "Other checkpoints without a step" : "Other versions of step \(checkpoint.step ?? 0)"
        let items = detail.otherVersions.html { other in
            """
            <li><a href="/checkpoints/\(other.id)">checkpoint \(other.id)</a> · <code>\(PageFormat.fingerprint(other.fingerprint))</code> \
            · added \(PageFormat.timestamp(other.createdAt))</li>

            """
        }
        return "<h2>\(heading)</h2>\n<ul id=\"versions\">\n\(items)</ul>\n"
    }

    private func summary(_ computed: [(StoredEstimate, EstimateResult)], _ labels: SeriesLabels) -> HTML {
        let rows = computed.html { estimate, result in
            """
            <tr><td><a href="#estimate-\(estimate.id)">\(labels.label(estimate.record.key))</a></td>\
            <td class="num">\(PageFormat.volume(result.log10Volume))</td>\
            <td class="num">\(PageFormat.interval(low: result.intervalLow, high: result.intervalHigh) ?? "—")</td>\
            <td class="num">\(result.ess.map { PageFormat.decimal($0, 1) } ?? "—")</td>\
            <td class="num">\(evaluationsPerDirection(result, estimate.record.key))</td>\
            <td class="num">\(PageFormat.seconds(result.seconds))</td>\
            <td class="num">\(result.secondsPreconditioner.map(PageFormat.seconds) ?? "—")</td></tr>

            """
        }
        return """
            <table id="estimates">
            <thead><tr><th>estimate</th><th class="num">log10 volume</th><th class="num">95% interval (log10)</th>\
            <th class="num">ess</th><th class="num">KL evaluations per direction</th><th class="num">seconds</th>\
            <th class="num">preconditioner seconds</th></tr></thead>
            <tbody>
            \(rows)</tbody>
            </table>

            """
    }

    private func evaluationsPerDirection(_ result: EstimateResult, _ key: EstimateKey) -> String {
        key.directions > 0 ? PageFormat.decimal(Double(result.klEvaluations) / Double(key.directions), 1) : "—"
    }

    /// One estimate: its full key, σ, every number, and histograms of its samples.
    private func section(_ estimate: StoredEstimate, _ result: EstimateResult, _ labels: SeriesLabels) -> HTML {
        let key = estimate.record.key
        var rse: HTML = ""
        if let value = result.preconditionerRelativeStandardError {
            rse = "<dt>preconditioner rel. std. error</dt><dd>\(PageFormat.decimal(value, 4))</dd>\n"
        }
        return """
            <section class="estimate" id="estimate-\(estimate.id)">
            <h3>\(labels.label(key))</h3>
            <dl class="facts">
            <dt>preconditioner</dt><dd>\(key.preconditionerName)</dd>
            <dt>cutoff</dt><dd>\("\(key.cutoff)")</dd>
            <dt>eval data</dt><dd>\(PageFormat.evalData(estimate.record.evalData).map { "\($0), " } ?? "")<code>\(key.evalFingerprint.isEmpty ? "none" : key.evalFingerprint)</code></dd>
            <dt>prior</dt><dd>\(key.prior), centred at \(key.priorCenter)</dd>
            <dt>σ</dt><dd>\(estimate.record.sigma.map { "\($0)" } ?? "—") (rule \(key.sigmaRule))</dd>
            <dt>directions</dt><dd>\(key.directions)</dd>
            <dt>seed</dt><dd>\(key.seed)</dd>
            <dt>tolerance</dt><dd>\("\(key.tolerance)")</dd>
            <dt>neighbourhood</dt><dd>\(key.neighbourhood)</dd>
            <dt>parameters</dt><dd>\(key.parameters.isEmpty ? "all" : key.parameters)</dd>
            <dt>log10 volume</dt><dd>\(PageFormat.volume(result.log10Volume))</dd>
            <dt>95% interval (log10)</dt><dd>\(PageFormat.interval(low: result.intervalLow, high: result.intervalHigh) ?? "—")</dd>
            <dt>bits</dt><dd>\(result.bits.map { PageFormat.decimal($0, 1) } ?? "∞")</dd>
            <dt>ess</dt><dd>\(result.ess.map { PageFormat.decimal($0, 2) } ?? "—")</dd>
            <dt>KL evaluations</dt><dd>\(PageFormat.count(result.klEvaluations)) (\(evaluationsPerDirection(result, key)) per direction)</dd>
            <dt>unbounded directions</dt><dd>\(result.unbounded) of \(key.directions)</dd>
            <dt>non-finite samples</dt><dd>\(result.nonfinite)</dd>
            <dt>seconds</dt><dd>\(PageFormat.seconds(result.seconds))</dd>
            <dt>preconditioner seconds</dt><dd>\(result.secondsPreconditioner.map(PageFormat.seconds) ?? "—")</dd>
            \(rse)<dt>software</dt><dd>\(estimate.record.softwareVersion)</dd>
            <dt>computed</dt><dd>\(PageFormat.timestamp(estimate.createdAt))</dd>
            </dl>
            \(histograms(result.samples))</section>

            """
    }

    private func histograms(_ samples: [SampleRecord]) -> HTML {
        guard !samples.isEmpty else { return "<p class=\"note\">No per-direction samples stored.</p>\n" }
        let logEstimates = SVGHistogram(title: "Per-direction log estimates (\(samples.count))", valueLabel: "log estimate sᵢ (nats)")
        var radii = SVGHistogram(title: "Per-direction radii (\(samples.count))", valueLabel: "radius to the boundary")
        radii.colourIndex = 1
        return """
            <div class="histograms">
            \(trusted: logEstimates.render(Histogram(samples.map(\.logEstimate))))\(trusted: radii.render(Histogram(samples.map(\.radius))))</div>

            """
    }

    private var jobTable: HTML {
        let rows = detail.jobs.html { job in
            let reasons: HTML = job.skipReasons.isEmpty ? "—"
                : "<ul class=\"series\">\(job.skipReasons.sorted { $0.key < $1.key }.html { "<li>\($0.key): \($0.value)</li>" })</ul>"
            return """
                <tr><td class="num">\(job.id)</td><td>\(job.state.rawValue)</td><td class="num">\(job.attempts) of \(job.maxAttempts)</td>\
                <td><code>\(job.errorCode ?? "—")</code></td><td class="error">\(job.lastError ?? "—")</td>\
                <td>\(reasons)</td>\
                <td>\(PageFormat.timestamp(job.createdAt))</td><td>\(job.finishedAt.map(PageFormat.timestamp) ?? "—")</td></tr>

                """
        }
        return """
            <table id="jobs">
            <thead><tr><th class="num">job</th><th>state</th><th class="num">attempts</th><th>error code</th><th>last error</th>\
            <th>skipped preconditioners</th><th>created</th><th>finished</th></tr></thead>
            <tbody>
            \(rows)</tbody>
            </table>

            """
    }
}
