import DB
import Foundation
import Testing
@testable import Dashboard

@Suite struct PagesCheckpointTests {
    private let samples = [0.1, 0.15, 0.3, 0.35, 0.38, 0.5, 0.9, Double.infinity].enumerated().map { i, radius in
        SampleRecord(direction: i, radius: radius, logEstimate: radius.isFinite ? -100 - Double(i) : .infinity, klEvaluations: 25)
    }

    private func detail(name: String = "run-a", path: String? = nil, architecture: String? = "mlp",
                        error: String = "out of memory", reason: String = "no optimizer state (optimizer.pt missing)") -> CheckpointDetail {
        let c = checkpointRecord(3, step: 100, minute: 5, path: path, architecture: architecture)
        return CheckpointDetail(
            checkpoint: c, run: runRecord(1, name),
            otherVersions: [checkpointRecord(2, step: 100, minute: 1), checkpointRecord(7, step: 100, minute: 9)],
            estimates: [
                computed(key(), log10Volume: -3012.4, samples: samples, id: 41, checkpoint: 3),
                computed(key(cutoff: 0.1), log10Volume: nil, id: 42, checkpoint: 3),
                skipped(key("adam", params: "eps=0.001,exponent=0.5"), reason, id: 43),
            ],
            jobs: [
                job(1, state: .done, skipReasons: ["adam:eps=0.001,exponent=0.5": reason]),
                job(2, state: .failed, errorCode: "checkpoint.unreadable", lastError: error),
            ])
    }

    @Test func describesTheCheckpointAndItsOtherVersions() throws {
        let html = DashboardPages.checkpoint(detail())
        #expect(html.contains(#"<h1>Checkpoint 3 of run <a href="/runs/1">run-a</a></h1>"#))
        #expect(html.contains(#"<dt>step</dt><dd id="step">100 (version 2 of 3)</dd>"#))
        #expect(html.contains("<dt>path</dt><dd><code>/watch/run-a/checkpoint-100</code></dd>"))
        #expect(html.contains("<dt>fingerprint</dt><dd><code>fp3-0123456789abcdef</code></dd>"))
        #expect(html.contains("<dt>parameters</dt><dd>124,439,808</dd>"))
        #expect(html.contains("<dt>architecture</dt><dd>mlp</dd>"))
        let versions = try #require(html.between("<ul id=\"versions\">", "</ul>"))
        #expect(html.contains("<h2>Other versions of step 100</h2>"))
        #expect(versions.contains(#"<a href="/checkpoints/2">checkpoint 2</a> · <code>fp2-01234567…</code>"#))
        #expect(versions.contains(#"<a href="/checkpoints/7">checkpoint 7</a>"#))
    }

    @Test func showsEveryEstimateWithItsSettingsAndNumbers() throws {
        let html = DashboardPages.checkpoint(detail())
        let summary = try #require(html.between("<table id=\"estimates\">", "</table>"))
        #expect(summary.occurrences(of: "<tr>") == 3)
        #expect(summary.contains(##"<tr><td><a href="#estimate-41">none · cutoff 0.01</a></td><td class="num">-3012.40</td><td class="num">[-3014.40, -3011.40]</td><td class="num">3.2</td><td class="num">25.0</td><td class="num">12.5 s</td><td class="num">0.75 s</td></tr>"##))
        #expect(summary.contains(#"<td class="num">∞ (unbounded directions)</td><td class="num">—</td><td class="num">—</td>"#))
        let section = try #require(html.between("<section class=\"estimate\" id=\"estimate-41\">", "</section>"))
        for fact in [
            "<dt>preconditioner</dt><dd>none</dd>", "<dt>cutoff</dt><dd>0.01</dd>", "<dt>eval data</dt><dd><code>3f2a9c1b77aa0011</code></dd>",
            "<dt>prior</dt><dd>gaussian, centred at zero</dd>", "<dt>σ</dt><dd>0.02 (rule rms)</dd>", "<dt>directions</dt><dd>8</dd>",
            "<dt>seed</dt><dd>0</dd>", "<dt>tolerance</dt><dd>0.01</dd>", "<dt>ess</dt><dd>3.25</dd>",
            "<dt>KL evaluations</dt><dd>200 (25.0 per direction)</dd>", "<dt>unbounded directions</dt><dd>0 of 8</dd>",
            "<dt>seconds</dt><dd>12.5 s</dd>", "<dt>preconditioner seconds</dt><dd>0.75 s</dd>", "<dt>software</dt><dd>volumed 1.0</dd>",
        ] {
            #expect(section.contains(fact), "missing \(fact)")
        }
        let infinite = try #require(html.between("id=\"estimate-42\">", "</section>"))
        #expect(infinite.contains("<dt>unbounded directions</dt><dd>1 of 8</dd>"))
        #expect(infinite.contains("No per-direction samples stored."))
    }

    @Test func drawsHistogramsOfTheSamplesAndCountsInfiniteRadiiApart() throws {
        let html = DashboardPages.checkpoint(detail())
        let section = try #require(html.between("id=\"estimate-41\">", "</section>"))
        let histograms = try #require(section.between("<div class=\"histograms\">", "</div>"))
        #expect(histograms.occurrences(of: "<svg ") == 2)
        #expect(histograms.contains("Per-direction log estimates (8)"))
        #expect(histograms.contains("Per-direction radii (8)"))
        // Radii 0.1 … 0.9 in bins of 0.2 (√7 ≈ 3 bins asked for), the infinite one in a note.
        #expect(histograms.contains("<title>[0.0, 0.2): 2</title>"))
        #expect(histograms.contains("<title>[0.2, 0.4): 3</title>"))
        #expect(histograms.contains("<title>[0.4, 0.6): 1</title>"))
        #expect(histograms.contains("<title>[0.8, 1.0): 1</title>"))
        #expect(histograms.occurrences(of: "Not binned: 1 infinite value(s) (unbounded directions).") == 2)
    }

    @Test func listsSkippedEstimatesAndJobsWithTheirErrors() throws {
        let html = DashboardPages.checkpoint(detail())
        let skipped = try #require(html.between("<table id=\"skipped\">", "</table>"))
        #expect(skipped.contains(#"<tr><td>adam:eps=0.001,exponent=0.5 · cutoff 0.01</td><td class="error">no optimizer state (optimizer.pt missing)</td></tr>"#))
        let jobs = try #require(html.between("<table id=\"jobs\">", "</table>"))
        #expect(jobs.occurrences(of: "<tr>") == 3)
        #expect(jobs.contains(#"<tr><td class="num">2</td><td>failed</td><td class="num">1 of 3</td><td><code>checkpoint.unreadable</code></td><td class="error">out of memory</td><td>—</td>"#))
        #expect(jobs.contains(#"<ul class="series"><li>adam:eps=0.001,exponent=0.5: no optimizer state (optimizer.pt missing)</li></ul>"#))
    }

    @Test func saysSoWhenNothingIsStoredYet() {
        let bare = CheckpointDetail(checkpoint: checkpointRecord(5, step: nil, architecture: nil), run: runRecord(),
                                    otherVersions: [], estimates: [], jobs: [])
        let html = DashboardPages.checkpoint(bare)
        #expect(html.contains(#"<dd id="step">no step</dd>"#))
        #expect(html.contains("<p class=\"empty\">no estimates yet</p>"))
        #expect(html.contains("<p class=\"empty\">no jobs</p>"))
        #expect(html.contains("<dt>architecture</dt><dd>—</dd>"))
        #expect(!html.contains("id=\"versions\""))
        #expect(!html.contains("id=\"skipped\""))
    }

    @Test func escapesNamesPathsAndErrors() {
        let html = DashboardPages.checkpoint(detail(name: hostile, path: "/watch/\(hostile)/checkpoint-100", architecture: hostile,
                                                    error: hostile, reason: hostile))
        #expect(!html.contains("<img"))
        // Run name (title link, facts), path, architecture, skipped reason, job's error, job's skip reason.
        #expect(html.occurrences(of: escapedHostile) == 7)
    }
}
