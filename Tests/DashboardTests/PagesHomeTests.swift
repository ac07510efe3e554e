import DB
import Foundation
import Testing
@testable import Dashboard

@Suite struct PagesHomeTests {
    private func overview(runName: String = "run-a", error: String = "KL is not finite at radius 0.5") -> DashboardOverview {
        let none = key(), adam = key("adam")
        let runA = RunOverview(
            run: runRecord(1, runName), checkpoints: 4, latestStep: 300, jobs: QueueCounts(queued: 2, running: 1, done: 5, failed: 1),
            latest: [
                LatestVolume(key: adam, checkpointID: 9, step: 300, log10Volume: -2900, previousCheckpointID: nil,
                             previousStep: nil, previousLog10Volume: nil),
                LatestVolume(key: none, checkpointID: 9, step: 300, log10Volume: -3012.4, previousCheckpointID: 8,
                             previousStep: 200, previousLog10Volume: -2664.9),
                LatestVolume(key: key(cutoff: 0.1), checkpointID: 9, step: 300, log10Volume: nil, previousCheckpointID: 8,
                             previousStep: 200, previousLog10Volume: -10),
            ])
        let runB = RunOverview(run: runRecord(2, "run-b"), checkpoints: 1, latestStep: nil, jobs: QueueCounts(queued: 1), latest: [])
        let failure = JobFailure(jobID: 17, state: .failed, runID: 1, run: runName, checkpointID: 8, step: 200,
                                 checkpointPath: "/watch/\(runName)/checkpoint-200", attempts: 3, maxAttempts: 3,
                                 errorCode: "estimate.kl_nonfinite", lastError: error, updatedAt: epoch + 3600)
        let retrying = JobFailure(jobID: 18, state: .queued, runID: 2, run: "run-b", checkpointID: 11, step: nil,
                                  checkpointPath: "/watch/run-b/model.safetensors", attempts: 1, maxAttempts: 3,
                                  errorCode: nil, lastError: "database went away", updatedAt: epoch + 60)
        return DashboardOverview(runs: [runA, runB], queue: QueueCounts(queued: 3, running: 1, done: 5, failed: 1, expiredLeases: 1),
                                 failures: [failure, retrying])
    }

    @Test func listsEveryRunWithItsLatestVolumesAndJobs() throws {
        let html = DashboardPages.home(overview())
        #expect(html.hasPrefix("<!doctype html>"))
        let runs = try #require(html.between("<table id=\"runs\">", "</table>"))
        #expect(runs.occurrences(of: "<tr>") == 3)
        #expect(runs.contains(#"<tr><td><a href="/runs/1">run-a</a></td><td class="num">300</td><td class="num">4</td>"#))
        #expect(runs.contains(#"<li>none · cutoff 0.01: <a href="/checkpoints/9">-3012.40</a> at step 300 (-347.50 since step 200)</li>"#))
        #expect(runs.contains(#"<li>adam · cutoff 0.01: <a href="/checkpoints/9">-2900.00</a> at step 300 (first)</li>"#))
        #expect(runs.contains(#"<li>none · cutoff 0.1: <a href="/checkpoints/9">∞ (unbounded directions)</a> at step 300</li>"#))
        #expect(runs.contains(#"<td class="num">2</td><td class="num">1</td><td class="num">1</td></tr>"#))
        // A run without steps or estimates.
        #expect(runs.contains(#"<tr><td><a href="/runs/2">run-b</a></td><td class="num">—</td><td class="num">1</td><td><span class="empty">no estimates yet</span></td><td class="num">1</td><td class="num">0</td><td class="num">0</td></tr>"#))
        #expect(html.contains("Jobs, every run: 3 queued · 1 running · 5 done · 1 failed (1 with an expired lease)"))
    }

    @Test func listsTheLastFailuresWithTheirErrorCodesLinkedToTheCheckpoint() throws {
        let html = DashboardPages.home(overview())
        let failures = try #require(html.between("<table id=\"failures\">", "</table>"))
        #expect(failures.occurrences(of: "<tr>") == 3)
        #expect(failures.contains(#"<tr><td>2025-02-19 22:20:00 UTC</td><td><a href="/runs/1">run-a</a></td><td><a href="/checkpoints/8" title="/watch/run-a/checkpoint-200">step 200</a></td><td>failed</td><td class="num">3 of 3</td><td><code>estimate.kl_nonfinite</code></td><td class="error">KL is not finite at radius 0.5</td></tr>"#))
        #expect(failures.contains(#"<a href="/checkpoints/11" title="/watch/run-b/model.safetensors">no step</a></td><td>retrying</td><td class="num">1 of 3</td><td><code>—</code></td>"#))
    }

    @Test func saysSoWhenThereAreNoRunsOrFailures() {
        let html = DashboardPages.home(DashboardOverview(runs: [], queue: QueueCounts(), failures: []))
        #expect(html.contains("<p class=\"empty\">no runs yet</p>"))
        #expect(html.contains("<p class=\"empty\">no failures</p>"))
        #expect(!html.contains("<table"))
        #expect(html.contains("Jobs, every run: 0 queued · 0 running · 0 done · 0 failed</p>"))
    }

    @Test func escapesRunNamesAndErrorTexts() {
        let html = DashboardPages.home(overview(runName: hostile, error: "bad </td><script>alert(2)</script> & more"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<script>alert"))
        #expect(html.occurrences(of: escapedHostile) == 3)
        #expect(html.contains("bad &lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt; &amp; more"))
        #expect(html.contains(#"title="/watch/&lt;img src=x onerror=alert(1)&gt;/checkpoint-200""#))
    }
}
