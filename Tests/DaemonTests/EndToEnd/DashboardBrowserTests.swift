import Base
import Foundation
import Testing

extension ServeEndToEnd {
    /// The dashboard of a real `volumed serve` (its own PostgreSQL, a watch folder, the digits
    /// checkpoints) seen by a real headless Chromium over the DevTools protocol, and its
    /// `/metrics` read by Prometheus's `promtool`. A missing `chromium` or `promtool` fails
    /// the tests, saying what to install: CI installs both.
    @Suite struct DashboardBrowser {
        /// One cutoff, one preconditioner: one estimate per checkpoint, seconds each.
        static let config = ServeConfig(cutoffs: [0.01], preconditioners: ["none"])

        /// The distinct checkpoint ids the run page's plot links to, sorted.
        static let plottedCheckpoints =
            "Array.from(new Set(Array.from(document.querySelectorAll('#plot [data-checkpoint]'), e => e.getAttribute('data-checkpoint')))).sort()"

        @Test func runPageGainsADroppedCheckpointWithoutReloading() async throws {
            _ = try HeadlessChromium.executable()
            let dashboard = try DashboardWorkspace(config: Self.config)
            let screenshots = try DashboardWorkspace.screenshotFolder()
            let workspace = dashboard.workspace
            try await workspace.withServe { daemon in
                try workspace.addRun("digits")
                try workspace.addCheckpoint(0, to: "digits")
                try await daemon.eventually("checkpoint 0 estimated") { try await daemon.tables.settledJobs(atLeast: 1) }
                try await dashboard.waitUntilServing(daemon)
                let run = try await daemon.eventually("the run's id") { try await dashboard.runID(named: "digits", daemon) }
                let first = try await daemon.eventually("checkpoint 0's id") { try await dashboard.checkpointID(run: run, step: 0, daemon) }

                let browser = try await HeadlessChromium.launch()
                let tab = try await browser.open(dashboard.url("/runs/\(run)"))
                let before = try await tab.waitUntil("the run page plotting checkpoint 0", "(\(Self.plottedCheckpoints)).length > 0 && \(Self.plottedCheckpoints)")
                #expect(before == .array([.string(String(first))]))
                try await tab.screenshot(to: screenshots + "/live-update-before.png")
                try await tab.evaluate("window.__marker = 1")
                let loads = tab.documentLoads

                try workspace.addCheckpoint(100, to: "digits", arrival: .renamedFromTemporary)
                let second = try await daemon.eventually("checkpoint 100's id") { try await dashboard.checkpointID(run: run, step: 100, daemon) }
                try await tab.waitUntil(
                    "the open run page to plot checkpoint \(second) (step 100)", timeout: .seconds(90),
                    "document.querySelector('#plot [data-checkpoint=\"\(second)\"]') !== null")
                try await tab.screenshot(to: screenshots + "/live-update-after.png")

                #expect(try await tab.evaluate("window.__marker") == .int(1), "the page reloaded: the marker set before is gone")
                #expect(tab.documentLoads == loads, "the page navigated again")
                #expect(try await tab.evaluate(Self.plottedCheckpoints) == .array([String(first), String(second)].sorted().map(JSONValue.string)))
                #expect(try await tab.evaluate("document.querySelectorAll('#checkpoints').length") == .int(1))
                #expect(tab.dialogs.isEmpty)
                await browser.close()
            }
        }

        @Test func runNameIsShownAsTextAndRunsNoScript() async throws {
            _ = try HeadlessChromium.executable()
            let name = "<img src=x onerror=alert(1)>"
            let dashboard = try DashboardWorkspace(config: Self.config)
            let screenshots = try DashboardWorkspace.screenshotFolder()
            let workspace = dashboard.workspace
            try await workspace.withServe { daemon in
                try workspace.addRun(name)
                try workspace.addCheckpoint(0, to: name)
                try await daemon.eventually("checkpoint 0 estimated") { try await daemon.tables.settledJobs(atLeast: 1) }
                try await dashboard.waitUntilServing(daemon)
                let run = try await daemon.eventually("the run's id") { try await dashboard.runID(named: name, daemon) }

                let browser = try await HeadlessChromium.launch()
                for (path, screenshot) in [("/runs/\(run)", "escaped-name-run.png"), ("/", "escaped-name-home.png")] {
                    let tab = try await browser.open(dashboard.url(path))
                    // A JSON string is a JavaScript string literal.
                    try await tab.waitUntil("\(path) to show the run's name as text",
                                            "document.body.innerText.includes(\(JSONValue.string(name).serialized()))")
                    try await tab.screenshot(to: screenshots + "/" + screenshot)
                    #expect(try await tab.evaluate("document.images.length") == .int(0), "\(path) has an img element")
                    #expect(try await tab.evaluate("document.querySelectorAll('img, image').length") == .int(0), "\(path)")
                    #expect(tab.dialogs.isEmpty, "\(path) ran the name's script: \(tab.dialogs)")
                }
                await browser.close()
            }
        }

        @Test func metricsPassPromtoolAndCountersMoveAsJobsComplete() async throws {
            _ = try Promtool.executable()
            let dashboard = try DashboardWorkspace(config: Self.config)
            let workspace = dashboard.workspace
            try await workspace.withServe { daemon in
                try workspace.addRun("digits")
                try workspace.addCheckpoint(0, to: "digits")
                try await daemon.eventually("checkpoint 0 estimated") { try await daemon.tables.settledJobs(atLeast: 1) }
                try await dashboard.waitUntilServing(daemon)
                let completed = "volumed_jobs_completed_total", computed = "volumed_estimates_computed_total"
                // The counters move when the worker finishes a job, just after its row is done.
                let beforeText = try await daemon.eventually("\(completed) to count checkpoint 0's job") {
                    let text = try await dashboard.metrics()
                    return MetricSamples(text).total(completed).map { $0 >= 1 } == true ? text : nil
                }
                try await Self.expectPromtoolAccepts(beforeText, in: workspace.folder)
                let before = MetricSamples(beforeText)
                for family in ["volumed_build_info", "volumed_jobs", completed, computed, "volumed_estimate_seconds",
                               "volumed_kl_evaluations_total", "volumed_estimates_stored"] {
                    #expect(beforeText.contains("# TYPE \(family) "), "/metrics has no \(family):\n\(beforeText)")
                }
                // Buckets from 0.01 s to 12 hours (and +Inf).
                let bounds = before.samples.filter { $0.series.hasPrefix("volumed_estimate_seconds_bucket{") }
                    .compactMap { sample in sample.series.firstRange(of: "le=\"").flatMap { start in
                        sample.series[start.upperBound...].split(separator: "\"").first.flatMap { Double($0) }
                    } }
                #expect(bounds.filter(\.isFinite).min() == 0.01, "\(bounds)")
                #expect(bounds.filter(\.isFinite).max() == 43200, "\(bounds)")

                try workspace.addCheckpoint(100, to: "digits")
                let afterText = try await daemon.eventually("\(completed) to count checkpoint 100's job", timeout: .seconds(90)) {
                    let text = try await dashboard.metrics()
                    return MetricSamples(text).total(completed).map { $0 > before.total(completed) ?? 0 } == true ? text : nil
                }
                try await Self.expectPromtoolAccepts(afterText, in: workspace.folder)
                let after = MetricSamples(afterText)
                #expect(after.total(completed) == (before.total(completed) ?? 0) + 1)
                #expect((after.total(computed) ?? 0) > (before.total(computed) ?? 0), "\(computed) did not move")
                #expect((after.total("volumed_estimate_seconds_count") ?? 0) > (before.total("volumed_estimate_seconds_count") ?? 0))
                #expect((after.total("volumed_kl_evaluations_total") ?? 0) > (before.total("volumed_kl_evaluations_total") ?? 0))
            }
        }

        /// promtool exits 0 and prints nothing: parse errors (exit 1) and lint problems (exit 3)
        /// both fail the test.
        static func expectPromtoolAccepts(_ metrics: String, in folder: TemporaryDirectory) async throws {
            let (termination, output) = try await Promtool.checkMetrics(metrics, in: folder)
            #expect(termination == .exited(0) && output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                    "promtool check metrics (\(termination)) complained:\n\(output)\n--- the scraped /metrics:\n\(metrics)")
        }
    }
}
